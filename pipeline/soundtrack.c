/* The storyboard's sound track: stems from the generator, placed on the
 * timeline's exact samples, mixed and normalised (rules in docs/sfx.md). */
#include "soundtrack.h"

#include "audio/loudness.h"
#include "audio/mix.h"
#include "common/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *vkr_stem_kind_name(vkr_stem_kind k)
{
    switch (k) {
    case VKR_STEM_SFX: return "sfx";
    case VKR_STEM_AMBIENCE: return "ambience";
    case VKR_STEM_MUSIC: return "music";
    }
    return "unknown";
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Declick fade length at `rate`: VKR_SOUNDTRACK_DECLICK_MS, rounded. */
static int64_t declick_samples(int rate)
{
    return (int64_t)llround(VKR_SOUNDTRACK_DECLICK_MS * 1e-3 * rate);
}

/* Lays out every stem (kind, id, prompt, seed, span, placement) without
 * generating anything: ambience in shot order, then cues in timeline order,
 * then the music bed. */
static int plan_stems(const vkr_storyboard *sb, const vkr_timeline *tl, vkr_soundtrack *st)
{
    int cap = tl->n_shots + tl->n_cues + 1;
    st->stems = calloc((size_t)cap, sizeof *st->stems);
    if (!st->stems)
        return vkr_fail(VKR_E_INTERNAL, "soundtrack: out of memory");
    const int64_t declick = declick_samples(st->rate);

    for (int i = 0; i < tl->n_shots; i++) {
        const vkr_tl_shot *ts = &tl->shots[i];
        const vkr_shot *shot = &sb->shots[ts->shot];
        if (!shot->ambience_prompt)
            continue;
        /* Covers the shot and, at a crossfade, the part of the blend that lies in
         * the neighbour: the whole blend fades with the equal-power law. */
        const vkr_tl_shot *next = i + 1 < tl->n_shots ? &tl->shots[i + 1] : NULL;
        bool xin = ts->transition == VKR_TRANSITION_CROSSFADE && ts->xfade_sample_end > ts->xfade_sample_begin;
        bool xout = next && next->transition == VKR_TRANSITION_CROSSFADE &&
                    next->xfade_sample_end > next->xfade_sample_begin;
        int64_t begin = xin ? ts->xfade_sample_begin : ts->sample_begin;
        int64_t end = xout ? next->xfade_sample_end : ts->sample_end;
        vkr_stem *s = &st->stems[st->n_stems++];
        s->kind = VKR_STEM_AMBIENCE;
        s->id = dup_str(shot->id);
        s->prompt = shot->ambience_prompt;
        s->seed = shot->seed;
        s->start = begin;
        s->n = end > begin ? end - begin : 0;
        s->gain_db = shot->ambience_gain_db;
        s->fade_in = xin ? ts->xfade_sample_end - ts->xfade_sample_begin : 0;
        s->fade_out = xout ? next->xfade_sample_end - next->xfade_sample_begin : 0;
        /* Declick the cut edges within what the crossfades leave. */
        int cut_edges = !xin + !xout;
        if (cut_edges) {
            int64_t room = s->n - s->fade_in - s->fade_out;
            int64_t d = min64(declick, room > 0 ? room / cut_edges : 0);
            if (!xin)
                s->fade_in = d;
            if (!xout)
                s->fade_out = d;
        }
        if (!s->id)
            return vkr_fail(VKR_E_INTERNAL, "soundtrack: out of memory");
    }
    for (int k = 0; k < tl->n_cues; k++) {
        const vkr_tl_cue *tc = &tl->cues[k];
        const vkr_cue *cue = &sb->cues[tc->cue];
        vkr_stem *s = &st->stems[st->n_stems++];
        s->kind = VKR_STEM_SFX;
        s->id = dup_str(cue->id);
        s->prompt = cue->prompt;
        s->seed = cue->seed;
        s->start = tc->sample_begin;
        s->n = tc->sample_end - tc->sample_begin;
        s->gain_db = cue->gain_db;
        s->pan = cue->pan;
        if (!s->id)
            return vkr_fail(VKR_E_INTERNAL, "soundtrack: out of memory");
    }
    if (sb->has_music) {
        vkr_stem *s = &st->stems[st->n_stems++];
        s->kind = VKR_STEM_MUSIC;
        s->id = dup_str("music");
        s->prompt = sb->music_prompt;
        s->seed = sb->music_seed;
        s->start = 0;
        s->n = st->n_frames;
        s->gain_db = sb->music_gain_db;
        s->fade_in = s->fade_out = min64(declick, s->n / 2);
        if (!s->id)
            return vkr_fail(VKR_E_INTERNAL, "soundtrack: out of memory");
    }
    return VKR_OK;
}

/* Brings a generated stem to its reference level. */
static int level_stem(vkr_stem *s, int rate)
{
    if (s->kind != VKR_STEM_SFX) {
        vkr_loudness m;
        int rc = vkr_loudness_measure(s->samples, s->n, 1, rate, &m);
        if (rc)
            return rc;
        if (isfinite(m.integrated_lufs)) {
            vkr_loudnorm_result r;
            rc = vkr_loudness_normalize(s->samples, s->n, 1, rate, VKR_SOUNDTRACK_BED_LUFS,
                                        VKR_SOUNDTRACK_SFX_PEAK_DBTP, &r);
            s->level_gain_db = r.gain_db;
            return rc;
        }
    }
    return vkr_peak_normalize(s->samples, s->n, 1, rate, VKR_SOUNDTRACK_SFX_PEAK_DBTP,
                              &s->level_gain_db);
}

static int generate_stem(const vkr_storyboard *sb, const vkr_sound_generator *gen, vkr_stem *s, int rate)
{
    float *out = NULL;
    int rc = gen->generate(gen->ctx, s->prompt, NULL, s->seed, &sb->audio_sampler, rate, s->n, &out);
    if (rc) {
        free(out);
        return vkr_fail_context(rc, "%s '%s'", vkr_stem_kind_name(s->kind), s->id);
    }
    if (!out)
        return vkr_fail(VKR_E_INTERNAL, "%s '%s': the generator returned no samples",
                        vkr_stem_kind_name(s->kind), s->id);
    for (int64_t j = 0; j < s->n; j++)
        if (!isfinite(out[j])) {
            free(out);
            return vkr_fail(VKR_E_INTERNAL, "%s '%s': sample %lld is not finite",
                            vkr_stem_kind_name(s->kind), s->id, (long long)j);
        }
    s->samples = out;
    if ((rc = level_stem(s, rate)))
        return vkr_fail_context(rc, "%s '%s'", vkr_stem_kind_name(s->kind), s->id);
    return VKR_OK;
}

/* The finished bus to the loudness target under the ceiling. A bus with an
 * undefined integrated loudness (shorter than 400 ms, or below the absolute
 * gate) takes the peak rule; digital silence stays silent. */
static int normalize_mix(const vkr_storyboard *sb, vkr_soundtrack *st)
{
    vkr_loudness m;
    int rc = vkr_loudness_measure(st->mix, st->n_frames, st->channels, st->rate, &m);
    if (rc)
        return rc;
    if (isfinite(m.integrated_lufs)) {
        vkr_loudnorm_result r;
        rc = vkr_loudness_normalize_limited(st->mix, st->n_frames, st->channels, st->rate,
                                            sb->loudness_lufs, sb->true_peak_dbtp, &r);
        st->mix_gain_db = r.gain_db;
        st->limiter_db = r.limiter_db;
    } else if (isfinite(m.true_peak_dbtp)) {
        rc = vkr_peak_normalize(st->mix, st->n_frames, st->channels, st->rate, sb->true_peak_dbtp,
                                &st->mix_gain_db);
    }
    if (rc)
        return rc;
    if ((rc = vkr_loudness_measure(st->mix, st->n_frames, st->channels, st->rate, &m)))
        return rc;
    st->integrated_lufs = m.integrated_lufs;
    st->true_peak_dbtp = m.true_peak_dbtp;
    return VKR_OK;
}

int vkr_soundtrack_plan(const vkr_storyboard *sb, const vkr_timeline *tl, vkr_soundtrack *out)
{
    memset(out, 0, sizeof *out);
    if (!sb || !tl)
        return vkr_fail(VKR_E_USAGE, "soundtrack: missing storyboard or timeline");
    if (tl->sample_rate != sb->output.sample_rate || tl->n_samples < 0 ||
        (sb->output.channels != 1 && sb->output.channels != 2))
        return vkr_fail(VKR_E_USAGE, "soundtrack: the timeline (%d Hz) does not match the storyboard "
                        "(%d Hz, %d channels)", tl->sample_rate, sb->output.sample_rate,
                        sb->output.channels);
    out->rate = tl->sample_rate;
    out->channels = sb->output.channels;
    out->n_frames = tl->n_samples;
    out->integrated_lufs = out->true_peak_dbtp = -INFINITY;
    int rc = plan_stems(sb, tl, out);
    if (rc)
        vkr_soundtrack_free(out);
    return rc;
}

int vkr_soundtrack_render(const vkr_storyboard *sb, const vkr_timeline *tl, const vkr_sound_generator *gen,
                          void (*progress)(void *ctx, int done, int total), void *progress_ctx,
                          vkr_soundtrack *out)
{
    memset(out, 0, sizeof *out);
    if (!gen || !gen->generate)
        return vkr_fail(VKR_E_USAGE, "soundtrack: no generator");
    vkr_soundtrack *st = out;
    int rc = vkr_soundtrack_plan(sb, tl, st);
    if (rc)
        return rc;
    st->mix = calloc((size_t)(st->n_frames > 0 ? st->n_frames : 1) * (size_t)st->channels, sizeof *st->mix);
    if (!st->mix) {
        rc = vkr_fail(VKR_E_INTERNAL, "soundtrack: out of memory for %lld frames", (long long)st->n_frames);
        goto fail;
    }

    int total = 0, done = 0;
    for (int i = 0; i < st->n_stems; i++)
        total += st->stems[i].n > 0;
    for (int i = 0; i < st->n_stems; i++) {
        vkr_stem *s = &st->stems[i];
        if (s->n <= 0)
            continue;
        if ((rc = generate_stem(sb, gen, s, st->rate)))
            goto fail;
        vkr_place_opts po = {.gain_db = s->gain_db, .pan = s->pan, .fade_in = s->fade_in, .fade_out = s->fade_out};
        if ((rc = vkr_mix_place(st->mix, st->n_frames, st->channels, s->samples, s->n, s->start, &po)))
            goto fail;
        if (progress)
            progress(progress_ctx, ++done, total);
    }
    if ((rc = normalize_mix(sb, st)))
        goto fail;
    return VKR_OK;
fail:
    vkr_soundtrack_free(st);
    return rc;
}

void vkr_soundtrack_free(vkr_soundtrack *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->n_stems; i++) {
        free(st->stems[i].id);
        free(st->stems[i].samples);
    }
    free(st->stems);
    free(st->mix);
    memset(st, 0, sizeof *st);
}
