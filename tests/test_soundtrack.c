/* The storyboard sound track (pipeline/soundtrack.h) with a synthetic
 * generator standing in for AudioLDM: a cosine whose frequency comes from the
 * prompt and the seed, so every stem is known exactly and different stems are
 * uncorrelated. Checks: stem list and spans against the timeline, cue onsets on
 * their exact sample, the equal-power pan law, the equal-power ambience
 * crossfade and hard cuts (reconstructed sample by sample), loudness target and
 * true-peak ceiling (re-measured independently), silence, determinism, error
 * propagation and the sampler -> scheduler mapping. */
#include "pipeline/soundtrack.h"

#include "audio/loudness.h"
#include "audio/mix.h"
#include "common/status.h"
#include "tests/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the test double ------------------------------------------------------- */

typedef struct {
    int calls;
    const vkr_sampler_cfg *last_sampler;
    const char *last_negative;
    int bad_rate_or_len; /* a call with n or rate the test did not expect */
    const char *fail_prompt; /* a prompt to refuse */
} synth;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static double synth_freq(const char *prompt, uint64_t seed)
{
    return 150.0 + (double)((fnv1a(prompt) ^ seed) % 1700u);
}

/* 0.3 cos(2 pi f j / rate): sample 0 is the peak, so an onset is visible on its
 * first sample. */
static int synth_generate(void *ctx, const char *prompt, const char *negative, uint64_t seed,
                          const vkr_sampler_cfg *sampler, int rate, int64_t n, float **out)
{
    synth *s = ctx;
    s->calls++;
    s->last_sampler = sampler;
    s->last_negative = negative;
    if (rate <= 0 || n <= 0)
        s->bad_rate_or_len++;
    if (s->fail_prompt && strcmp(prompt, s->fail_prompt) == 0)
        return vkr_fail(VKR_E_TEMPFAIL, "synthetic failure");
    float *x = malloc((size_t)n * sizeof *x);
    if (!x)
        return vkr_fail(VKR_E_INTERNAL, "oom");
    double f = synth_freq(prompt, seed);
    for (int64_t j = 0; j < n; j++)
        x[j] = (float)(0.3 * cos(2.0 * M_PI * f * (double)j / rate));
    *out = x;
    return VKR_OK;
}

/* ---- helpers --------------------------------------------------------------- */

static int load_board(const char *json, vkr_storyboard *sb, vkr_timeline *tl)
{
    vkr_diags d = {0};
    int rc = vkr_storyboard_parse("test.json", json, strlen(json), sb, &d);
    if (rc) {
        vkr_diags_print(&d, "test.json", stderr);
        vkr_diags_free(&d);
        return rc;
    }
    vkr_diags_free(&d);
    return vkr_timeline_build(sb, tl);
}

static const vkr_stem *find_stem(const vkr_soundtrack *st, vkr_stem_kind k, const char *id)
{
    for (int i = 0; i < st->n_stems; i++)
        if (st->stems[i].kind == k && strcmp(st->stems[i].id, id) == 0)
            return &st->stems[i];
    return NULL;
}

static const vkr_tl_cue *find_cue(const vkr_storyboard *sb, const vkr_timeline *tl, const char *id)
{
    for (int k = 0; k < tl->n_cues; k++)
        if (strcmp(sb->cues[tl->cues[k].cue].id, id) == 0)
            return &tl->cues[k];
    return NULL;
}

static bool all_finite(const vkr_soundtrack *st)
{
    for (int64_t i = 0; i < st->n_frames * st->channels; i++)
        if (!isfinite(st->mix[i]))
            return false;
    return true;
}

/* ---- stems: list, order, spans, seeds -------------------------------------- */

static const char *otter =
    "{\"version\":1,\"output\":{\"width\":64,\"height\":64,\"fps\":24,\"sample_rate\":48000,\"channels\":2},"
    "\"seed\":42,\"audio_sampler\":{\"name\":\"euler\",\"steps\":7,\"guidance\":3.5},"
    "\"loudness\":{\"integrated_lufs\":-16,\"true_peak_dbtp\":-1},"
    "\"shots\":["
    "{\"id\":\"boarding\",\"duration\":2,\"prompt\":\"p\",\"ambience\":{\"prompt\":\"jet bridge\",\"gain_db\":-20}},"
    "{\"id\":\"seat\",\"duration\":2,\"prompt\":\"p\",\"transition\":{\"type\":\"crossfade\",\"duration\":1},"
    "\"ambience\":{\"prompt\":\"cabin hum\",\"gain_db\":-18}},"
    "{\"id\":\"quiet\",\"duration\":1,\"prompt\":\"p\"},"
    "{\"id\":\"wifi\",\"duration\":2,\"prompt\":\"p\",\"seed\":7,\"ambience\":{\"prompt\":\"keyboard\",\"gain_db\":-22}}],"
    "\"sfx\":["
    "{\"id\":\"whoosh\",\"shot\":\"wifi\",\"at\":0.25,\"duration\":0.5,\"prompt\":\"whoosh\",\"pan\":0.5,\"seed\":1234},"
    "{\"id\":\"chime\",\"at\":0.5,\"duration\":1.0,\"prompt\":\"chime\",\"gain_db\":-8,\"pan\":-0.3}],"
    "\"music\":{\"prompt\":\"ukulele\",\"gain_db\":-22}}";

static void progress_count(void *ctx, int done, int total)
{
    int *p = ctx;
    CHECK(done == p[0] + 1 && total == p[1], "progress %d/%d after %d of %d", done, total, p[0], p[1]);
    p[0] = done;
}

static void test_stems(void)
{
    vkr_storyboard sb;
    vkr_timeline tl = {0};
    if (load_board(otter, &sb, &tl)) {
        CHECK(0, "board: %s", vkr_last_error());
        return;
    }
    synth sy = {0};
    vkr_sound_generator gen = {.ctx = &sy, .generate = synth_generate, .model_name = "synth"};
    vkr_soundtrack st;
    int prog[2] = {0, 6};
    int rc = vkr_soundtrack_render(&sb, &tl, &gen, progress_count, prog, &st);
    CHECK(rc == 0, "render: %s", vkr_last_error());
    if (rc)
        goto done;
    CHECK_EQ_INT(st.rate, 48000);
    CHECK_EQ_INT(st.channels, 2);
    CHECK_EQ_INT(st.n_frames, tl.n_samples);
    CHECK_EQ_INT(st.n_frames, 7 * 48000);
    /* 3 ambiences (shot "quiet" has none), 2 cues, music. */
    CHECK_EQ_INT(st.n_stems, 6);
    CHECK_EQ_INT(sy.calls, 6);
    CHECK_EQ_INT(prog[0], 6);
    CHECK_EQ_INT(sy.bad_rate_or_len, 0);
    CHECK(sy.last_sampler == &sb.audio_sampler, "the generator gets the board's audio sampler");
    CHECK(sy.last_negative == NULL, "no negative prompt for audio");
    static const struct { vkr_stem_kind k; const char *id; } order[] = {
        {VKR_STEM_AMBIENCE, "boarding"}, {VKR_STEM_AMBIENCE, "seat"}, {VKR_STEM_AMBIENCE, "wifi"},
        {VKR_STEM_SFX, "chime"}, {VKR_STEM_SFX, "whoosh"}, {VKR_STEM_MUSIC, "music"}};
    for (int i = 0; i < 6 && i < st.n_stems; i++) {
        CHECK(st.stems[i].kind == order[i].k && strcmp(st.stems[i].id, order[i].id) == 0,
              "stem %d is %s '%s', expected %s '%s'", i, vkr_stem_kind_name(st.stems[i].kind),
              st.stems[i].id, vkr_stem_kind_name(order[i].k), order[i].id);
        CHECK(st.stems[i].samples != NULL, "stem %d has samples", i);
    }
    /* Ambience spans: the crossfade (1 s around t = 2 s) belongs to both beds. */
    const vkr_stem *a = find_stem(&st, VKR_STEM_AMBIENCE, "boarding");
    const vkr_stem *b = find_stem(&st, VKR_STEM_AMBIENCE, "seat");
    const vkr_stem *w = find_stem(&st, VKR_STEM_AMBIENCE, "wifi");
    if (a && b && w) {
        CHECK_EQ_INT(a->start, 0);
        CHECK_EQ_INT(a->n, 2.5 * 48000);
        CHECK_EQ_INT(a->fade_out, 48000);
        CHECK_EQ_INT(a->fade_in, 96); /* 2 ms declick at the clip start */
        CHECK_EQ_INT(b->start, 1.5 * 48000);
        CHECK_EQ_INT(b->n, 2.5 * 48000); /* 1.5 .. 4 s: a cut into "quiet" */
        CHECK_EQ_INT(b->fade_in, 48000);
        CHECK_EQ_INT(b->fade_out, 96);
        CHECK_EQ_INT(w->start, tl.shots[3].sample_begin);
        CHECK_EQ_INT(w->n, tl.shots[3].sample_end - tl.shots[3].sample_begin);
        CHECK_EQ_INT(w->seed, 7);
        CHECK_EQ_INT(a->seed, sb.shots[0].seed);
        CHECK_EQ_STR(a->prompt, "jet bridge");
        CHECK_NEAR(a->gain_db, -20, 0);
        CHECK_NEAR(b->gain_db, -18, 0);
    }
    const vkr_stem *ch = find_stem(&st, VKR_STEM_SFX, "chime");
    const vkr_stem *wh = find_stem(&st, VKR_STEM_SFX, "whoosh");
    const vkr_tl_cue *tch = find_cue(&sb, &tl, "chime"), *twh = find_cue(&sb, &tl, "whoosh");
    if (ch && wh && tch && twh) {
        CHECK_EQ_INT(ch->start, tch->sample_begin);
        CHECK_EQ_INT(ch->n, tch->sample_end - tch->sample_begin);
        CHECK_EQ_INT(ch->n, 48000);
        CHECK_EQ_INT(wh->start, 5.25 * 48000);
        CHECK_EQ_INT(wh->n, 24000);
        CHECK_EQ_INT(wh->seed, 1234);
        CHECK_EQ_INT(ch->seed, sb.cues[tch->cue].seed);
        CHECK_NEAR(ch->gain_db, -8, 0);
        CHECK_NEAR(ch->pan, -0.3, 0);
        CHECK_NEAR(wh->gain_db, -6, 0); /* the default */
        CHECK_EQ_INT(ch->fade_in, 0);
        CHECK_EQ_INT(ch->fade_out, 0);
        /* Reference level: an effect peaks at -1 dBTP. */
        vkr_loudness l;
        vkr_loudness_measure(ch->samples, ch->n, 1, 48000, &l);
        CHECK(l.true_peak_dbtp <= -1.0 && l.true_peak_dbtp > -1.01, "sfx true peak %.4f dBTP", l.true_peak_dbtp);
    }
    const vkr_stem *m = find_stem(&st, VKR_STEM_MUSIC, "music");
    if (m) {
        CHECK_EQ_INT(m->start, 0);
        CHECK_EQ_INT(m->n, st.n_frames);
        CHECK_EQ_INT(m->seed, sb.music_seed);
        CHECK_NEAR(m->gain_db, -22, 0);
        vkr_loudness l;
        vkr_loudness_measure(m->samples, m->n, 1, 48000, &l);
        CHECK_NEAR(l.integrated_lufs, VKR_SOUNDTRACK_BED_LUFS, 0.05);
    }
    /* The whole mix to the target under the ceiling (re-measured here). */
    vkr_loudness l;
    vkr_loudness_measure(st.mix, st.n_frames, 2, 48000, &l);
    printf("stems: %.3f LUFS, %.3f dBTP (target -16, ceiling -1), gain %.2f dB, limiter %.2f dB\n",
           l.integrated_lufs, l.true_peak_dbtp, st.mix_gain_db, st.limiter_db);
    CHECK_NEAR(l.integrated_lufs, -16, 0.5);
    CHECK(l.true_peak_dbtp <= -1.0, "true peak %.4f dBTP over the -1 dBTP ceiling", l.true_peak_dbtp);
    CHECK_NEAR(st.integrated_lufs, l.integrated_lufs, 1e-9);
    CHECK_NEAR(st.true_peak_dbtp, l.true_peak_dbtp, 1e-9);
    CHECK(all_finite(&st), "mix is finite");

    /* The plan lists the same stems, spans and placements without generating. */
    vkr_soundtrack plan;
    int calls = sy.calls;
    rc = vkr_soundtrack_plan(&sb, &tl, &plan);
    CHECK(rc == 0 && plan.n_stems == st.n_stems && plan.mix == NULL && plan.n_frames == st.n_frames,
          "plan: rc %d, %d stems", rc, plan.n_stems);
    for (int i = 0; !rc && i < plan.n_stems && i < st.n_stems; i++) {
        const vkr_stem *p = &plan.stems[i], *q = &st.stems[i];
        CHECK(p->kind == q->kind && !strcmp(p->id, q->id) && p->start == q->start && p->n == q->n &&
                  p->seed == q->seed && p->fade_in == q->fade_in && p->fade_out == q->fade_out &&
                  p->gain_db == q->gain_db && p->pan == q->pan && p->samples == NULL,
              "plan stem %d differs from the rendered one", i);
    }
    CHECK_EQ_INT(sy.calls, calls);
    vkr_soundtrack_free(&plan);

    /* Determinism: a second render is bit-identical. */
    vkr_soundtrack st2;
    rc = vkr_soundtrack_render(&sb, &tl, &gen, NULL, NULL, &st2);
    CHECK(rc == 0, "second render: %s", vkr_last_error());
    if (!rc) {
        CHECK(st2.n_frames == st.n_frames &&
                  memcmp(st.mix, st2.mix, (size_t)st.n_frames * 2 * sizeof(float)) == 0,
              "two renders of the same board differ");
        for (int i = 0; i < st.n_stems && i < st2.n_stems; i++)
            CHECK(st.stems[i].n == st2.stems[i].n &&
                      memcmp(st.stems[i].samples, st2.stems[i].samples, (size_t)st.stems[i].n * 4) == 0,
                  "stem %d differs between renders", i);
        vkr_soundtrack_free(&st2);
    }
    vkr_soundtrack_free(&st);
done:
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);
}

/* ---- beds: crossfade and cut, reconstructed sample by sample --------------- */

/* Independent re-mix of the beds with the documented laws: gain 10^(dB/20),
 * centre pan 1/sqrt 2 on a stereo bus, fade-in sin(phi), fade-out cos(phi),
 * phi = (i + 1/2) / n * pi / 2. */
static double fade_gain(const vkr_stem *s, int64_t j)
{
    double g = 1.0;
    if (j < s->fade_in)
        g *= sin(((double)j + 0.5) / (double)s->fade_in * M_PI / 2);
    int64_t o = s->n - s->fade_out;
    if (j >= o)
        g *= cos(((double)(j - o) + 0.5) / (double)s->fade_out * M_PI / 2);
    return g;
}

static const char *beds =
    "{\"version\":1,\"output\":{\"width\":64,\"height\":64,\"fps\":25,\"sample_rate\":44100,\"channels\":2},"
    "\"loudness\":{\"integrated_lufs\":-23,\"true_peak_dbtp\":-1},"
    "\"shots\":["
    "{\"id\":\"a\",\"duration\":1.5,\"prompt\":\"p\",\"ambience\":{\"prompt\":\"rain on a window\",\"gain_db\":-18}},"
    "{\"id\":\"b\",\"duration\":1.5,\"prompt\":\"p\",\"transition\":{\"type\":\"crossfade\",\"duration\":0.6},"
    "\"ambience\":{\"prompt\":\"city traffic\",\"gain_db\":-18}},"
    "{\"id\":\"c\",\"duration\":1.0,\"prompt\":\"p\",\"ambience\":{\"prompt\":\"birdsong\",\"gain_db\":-12}}]}";

static void test_beds(void)
{
    vkr_storyboard sb;
    vkr_timeline tl = {0};
    if (load_board(beds, &sb, &tl)) {
        CHECK(0, "board: %s", vkr_last_error());
        return;
    }
    synth sy = {0};
    vkr_sound_generator gen = {.ctx = &sy, .generate = synth_generate};
    vkr_soundtrack st;
    int rc = vkr_soundtrack_render(&sb, &tl, &gen, NULL, NULL, &st);
    CHECK(rc == 0, "render: %s", vkr_last_error());
    if (rc)
        goto done;
    CHECK_EQ_INT(st.n_stems, 3);
    const vkr_stem *a = find_stem(&st, VKR_STEM_AMBIENCE, "a");
    const vkr_stem *b = find_stem(&st, VKR_STEM_AMBIENCE, "b");
    const vkr_stem *c = find_stem(&st, VKR_STEM_AMBIENCE, "c");
    if (!a || !b || !c) {
        CHECK(0, "missing ambience stems");
        goto free_st;
    }
    const vkr_tl_shot *tb = &tl.shots[1], *tc = &tl.shots[2];
    const int64_t xb = tb->xfade_sample_begin, xe = tb->xfade_sample_end;
    CHECK_EQ_INT(xb, 1.2 * 44100);
    CHECK_EQ_INT(xe, 1.8 * 44100);
    /* Each bed covers its shot plus the other half of the blend; the cut is hard. */
    CHECK_EQ_INT(a->start, 0);
    CHECK_EQ_INT(a->start + a->n, xe);
    CHECK_EQ_INT(a->fade_out, xe - xb);
    CHECK_EQ_INT(b->start, xb);
    CHECK_EQ_INT(b->fade_in, xe - xb);
    CHECK_EQ_INT(b->start + b->n, tc->sample_begin);
    CHECK_EQ_INT(c->start, tc->sample_begin);
    CHECK_EQ_INT(c->start + c->n, st.n_frames);
    const int64_t declick = 88; /* 2 ms at 44.1 kHz */
    CHECK_EQ_INT(b->fade_out, declick);
    CHECK_EQ_INT(c->fade_in, declick);
    CHECK_EQ_INT(c->fade_out, declick);
    CHECK_EQ_INT(a->fade_in, declick);

    /* expected (per channel) and the one static gain the normaliser applied. */
    const int64_t n = st.n_frames;
    double *exp_l = calloc((size_t)n, sizeof *exp_l);
    if (!exp_l)
        goto free_st;
    const vkr_stem *bedv[3] = {a, b, c};
    for (int k = 0; k < 3; k++) {
        const vkr_stem *s = bedv[k];
        double g = pow(10.0, s->gain_db / 20.0) / sqrt(2.0);
        for (int64_t j = 0; j < s->n; j++)
            exp_l[s->start + j] += g * fade_gain(s, j) * s->samples[j];
    }
    double num = 0, den = 0, peak = 0;
    for (int64_t i = 0; i < n; i++) {
        num += st.mix[2 * i] * exp_l[i];
        den += exp_l[i] * exp_l[i];
        if (fabs(exp_l[i]) > peak)
            peak = fabs(exp_l[i]);
    }
    double K = num / den, worst = 0;
    int64_t worst_i = -1;
    for (int64_t i = 0; i < n; i++)
        for (int ch = 0; ch < 2; ch++) {
            double e = fabs(st.mix[2 * i + ch] - K * exp_l[i]);
            if (e > worst)
                worst = e, worst_i = i;
        }
    CHECK(worst <= 2e-6 * K * peak + 1e-7, "mix differs from the equal-power re-mix by %.3g at frame %lld "
          "(peak %.3g)", worst, (long long)worst_i, K * peak);
    printf("beds: static mix gain %.3f dB, worst deviation from the re-mix %.3g\n", 20 * log10(K), worst);

    /* Equal power across the blend: with both beds at -18 dB and well-separated
     * frequencies, the blend's middle keeps the power of the unblended beds. */
    double fa = synth_freq("rain on a window", sb.shots[0].seed), fb = synth_freq("city traffic", sb.shots[1].seed);
    CHECK(fabs(fa - fb) > 50, "test setup: bed frequencies %.0f and %.0f Hz too close", fa, fb);
    const int64_t q = (xe - xb) / 4, mid = (xb + xe) / 2;
    double p_mid = 0, p_before = 0, p_after = 0;
    for (int64_t i = 0; i < q; i++) {
        double m = st.mix[2 * (mid - q / 2 + i)];
        double u = st.mix[2 * (xb - q - 100 + i)];
        double v = st.mix[2 * (xe + 100 + i)];
        p_mid += m * m, p_before += u * u, p_after += v * v;
    }
    /* The beds differ in level (same loudness, different K-weighting), so the
     * middle of an equal-power blend carries the mean of their powers: no dip
     * (linear fade: -3 dB) and no bump. */
    double d = 10 * log10(p_mid / (0.5 * (p_before + p_after)));
    printf("beds: power mid-blend %.3f dB from the mean of the two beds (%.3f dB apart)\n", d,
           10 * log10(p_before / p_after));
    CHECK(fabs(d) < 0.1, "mid-blend power %.3f dB off the beds' mean", d);

    vkr_loudness l;
    vkr_loudness_measure(st.mix, n, 2, 44100, &l);
    CHECK_NEAR(l.integrated_lufs, -23, 0.5);
    CHECK(l.true_peak_dbtp <= -1.0, "true peak %.4f", l.true_peak_dbtp);
    CHECK(st.limiter_db == 0 && fabs(st.mix_gain_db - 20 * log10(K)) < 1e-3, "static gain %.4f dB (fit %.4f), "
          "limiter %.3f dB", st.mix_gain_db, 20 * log10(K), st.limiter_db);
    free(exp_l);
free_st:
    vkr_soundtrack_free(&st);
done:
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);
}

/* ---- cues: exact onsets and the pan law ------------------------------------ */

static const char *cues =
    "{\"version\":1,\"output\":{\"width\":64,\"height\":64,\"fps\":24,\"sample_rate\":48000,\"channels\":2},"
    "\"shots\":[{\"id\":\"s\",\"duration\":2,\"prompt\":\"p\"}],"
    "\"sfx\":["
    "{\"id\":\"right\",\"at\":0.3137,\"duration\":0.5,\"prompt\":\"door knock\",\"gain_db\":-12,\"pan\":0.5},"
    "{\"id\":\"left\",\"at\":1.00001,\"duration\":0.3,\"prompt\":\"glass clink\",\"gain_db\":-12,\"pan\":-1},"
    "{\"id\":\"centre\",\"at\":1.5,\"duration\":0.2,\"prompt\":\"footstep\",\"gain_db\":-12}]}";

static void test_cues(void)
{
    vkr_storyboard sb;
    vkr_timeline tl = {0};
    if (load_board(cues, &sb, &tl)) {
        CHECK(0, "board: %s", vkr_last_error());
        return;
    }
    synth sy = {0};
    vkr_sound_generator gen = {.ctx = &sy, .generate = synth_generate};
    vkr_soundtrack st;
    int rc = vkr_soundtrack_render(&sb, &tl, &gen, NULL, NULL, &st);
    CHECK(rc == 0, "render: %s", vkr_last_error());
    if (rc)
        goto done;
    const vkr_tl_cue *r = find_cue(&sb, &tl, "right"), *l = find_cue(&sb, &tl, "left"),
                     *c = find_cue(&sb, &tl, "centre");
    CHECK_EQ_INT(r->sample_begin, 15058); /* round(0.3137 * 48000) = round(15057.6) */
    CHECK_EQ_INT(l->sample_begin, 48000);  /* 1.00001 s = 48000.48 */
    /* Onset detection: the first non-zero frame after a silent stretch. */
    const float *m = st.mix;
    int64_t first = -1;
    for (int64_t i = 0; i < st.n_frames && first < 0; i++)
        if (m[2 * i] != 0 || m[2 * i + 1] != 0)
            first = i;
    CHECK_EQ_INT(first, r->sample_begin);
    int64_t second = -1;
    for (int64_t i = r->sample_end; i < st.n_frames && second < 0; i++)
        if (m[2 * i] != 0 || m[2 * i + 1] != 0)
            second = i;
    CHECK_EQ_INT(second, l->sample_begin);
    int64_t third = -1;
    for (int64_t i = l->sample_end; i < st.n_frames && third < 0; i++)
        if (m[2 * i] != 0 || m[2 * i + 1] != 0)
            third = i;
    CHECK_EQ_INT(third, c->sample_begin);
    /* And each ends on its last sample. */
    CHECK(m[2 * (r->sample_end - 1)] != 0 && m[2 * r->sample_end] == 0, "cue 'right' ends at %lld",
          (long long)r->sample_end);

    /* Pan: R/L = tan((p + 1) pi / 4) on every sample; hard left has R = 0;
     * centre has L = R; equal power: L^2 + R^2 = (k x)^2 with one k for all. */
    double want = tan(1.5 * M_PI / 4), worst = 0;
    for (int64_t i = r->sample_begin; i < r->sample_end; i++)
        if (fabs(m[2 * i]) > 1e-3)
            worst = fmax(worst, fabs(m[2 * i + 1] / m[2 * i] - want));
    CHECK(worst < 1e-4, "pan 0.5: R/L off tan(3 pi / 8) = %.6f by %.3g", want, worst);
    int right_leak = 0, centre_diff = 0;
    for (int64_t i = l->sample_begin; i < l->sample_end; i++)
        right_leak += m[2 * i + 1] != 0;
    for (int64_t i = c->sample_begin; i < c->sample_end; i++)
        centre_diff += m[2 * i] != m[2 * i + 1];
    CHECK_EQ_INT(right_leak, 0);
    CHECK_EQ_INT(centre_diff, 0);
    double k2[3];
    const vkr_tl_cue *tc[3] = {r, l, c};
    for (int q = 0; q < 3; q++) {
        const vkr_stem *s = find_stem(&st, VKR_STEM_SFX, sb.cues[tc[q]->cue].id);
        double pm = 0, ps = 0;
        for (int64_t j = 0; s && j < s->n; j++) {
            int64_t i = s->start + j;
            pm += (double)m[2 * i] * m[2 * i] + (double)m[2 * i + 1] * m[2 * i + 1];
            ps += (double)s->samples[j] * s->samples[j];
        }
        k2[q] = pm / ps;
    }
    CHECK(fabs(k2[1] / k2[0] - 1) < 1e-5 && fabs(k2[2] / k2[0] - 1) < 1e-5,
          "equal power: L^2+R^2 per stem power %.6g %.6g %.6g", k2[0], k2[1], k2[2]);

    vkr_loudness lm;
    vkr_loudness_measure(st.mix, st.n_frames, 2, 48000, &lm);
    printf("cues: %.3f LUFS, %.3f dBTP (target -16, ceiling -1)\n", lm.integrated_lufs, lm.true_peak_dbtp);
    CHECK_NEAR(lm.integrated_lufs, -16, 0.5);
    CHECK(lm.true_peak_dbtp <= -1.0, "true peak %.4f", lm.true_peak_dbtp);
    vkr_soundtrack_free(&st);
done:
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);
}

/* ---- loud cues against quiet beds: the limiter keeps the ceiling ----------- */

static const char *peaky =
    "{\"version\":1,\"output\":{\"width\":64,\"height\":64,\"fps\":24,\"sample_rate\":32000,\"channels\":1},"
    "\"loudness\":{\"integrated_lufs\":-14,\"true_peak_dbtp\":-2},"
    "\"shots\":[{\"id\":\"s\",\"duration\":3,\"prompt\":\"p\",\"ambience\":{\"prompt\":\"wind\",\"gain_db\":0}}],"
    "\"sfx\":[{\"id\":\"bang\",\"at\":1,\"duration\":0.02,\"prompt\":\"bang\",\"gain_db\":0}],"
    "\"music\":{\"prompt\":\"drone\",\"gain_db\":0}}";

static void test_peaky(void)
{
    vkr_storyboard sb;
    vkr_timeline tl = {0};
    if (load_board(peaky, &sb, &tl)) {
        CHECK(0, "board: %s", vkr_last_error());
        return;
    }
    synth sy = {0};
    vkr_sound_generator gen = {.ctx = &sy, .generate = synth_generate};
    vkr_soundtrack st;
    int rc = vkr_soundtrack_render(&sb, &tl, &gen, NULL, NULL, &st);
    CHECK(rc == 0, "render: %s", vkr_last_error());
    if (!rc) {
        CHECK_EQ_INT(st.channels, 1);
        vkr_loudness l;
        vkr_loudness_measure(st.mix, st.n_frames, 1, 32000, &l);
        printf("peaky: %.3f LUFS, %.3f dBTP (target -14, ceiling -2), gain %.2f dB, limiter %.2f dB\n",
               l.integrated_lufs, l.true_peak_dbtp, st.mix_gain_db, st.limiter_db);
        CHECK(st.limiter_db < -1.0, "the 20 ms bang needs the limiter (%.2f dB)", st.limiter_db);
        CHECK_NEAR(l.integrated_lufs, -14, 0.5);
        CHECK(l.true_peak_dbtp <= -2.0, "true peak %.4f over -2", l.true_peak_dbtp);
        vkr_soundtrack_free(&st);
    }
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);
}

/* ---- silence and very short clips ------------------------------------------ */

static void test_silence_and_short(void)
{
    vkr_storyboard sb;
    vkr_timeline tl = {0};
    synth sy = {0};
    vkr_sound_generator gen = {.ctx = &sy, .generate = synth_generate};
    vkr_soundtrack st;
    if (load_board("{\"version\":1,\"shots\":[{\"id\":\"s\",\"duration\":1.5,\"prompt\":\"p\"}]}", &sb, &tl)) {
        CHECK(0, "board: %s", vkr_last_error());
        return;
    }
    int rc = vkr_soundtrack_render(&sb, &tl, &gen, NULL, NULL, &st);
    CHECK(rc == 0, "silent render: %s", vkr_last_error());
    if (!rc) {
        CHECK_EQ_INT(st.n_stems, 0);
        CHECK_EQ_INT(sy.calls, 0);
        CHECK_EQ_INT(st.n_frames, 72000);
        int nonzero = 0;
        for (int64_t i = 0; i < st.n_frames * st.channels; i++)
            nonzero += st.mix[i] != 0;
        CHECK_EQ_INT(nonzero, 0);
        CHECK(isinf(st.integrated_lufs) && st.integrated_lufs < 0 && isinf(st.true_peak_dbtp) &&
                  st.true_peak_dbtp < 0, "silence measures -inf/-inf, got %g / %g", st.integrated_lufs,
              st.true_peak_dbtp);
        vkr_soundtrack_free(&st);
    }
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);

    /* 0.3 s: no integrated loudness; the peak rule puts it on the ceiling. */
    if (load_board("{\"version\":1,\"loudness\":{\"true_peak_dbtp\":-3},\"shots\":[{\"id\":\"s\",\"duration\":0.3,"
                   "\"prompt\":\"p\"}],\"sfx\":[{\"id\":\"tick\",\"at\":0.1,\"duration\":0.1,\"prompt\":\"tick\"}]}",
                   &sb, &tl)) {
        CHECK(0, "board: %s", vkr_last_error());
        return;
    }
    rc = vkr_soundtrack_render(&sb, &tl, &gen, NULL, NULL, &st);
    CHECK(rc == 0, "short render: %s", vkr_last_error());
    if (!rc) {
        CHECK(isinf(st.integrated_lufs) && st.integrated_lufs < 0, "0.3 s: integrated %g", st.integrated_lufs);
        CHECK(st.true_peak_dbtp <= -3.0 && st.true_peak_dbtp > -3.01, "0.3 s: true peak %.4f dBTP",
              st.true_peak_dbtp);
        CHECK(all_finite(&st), "finite");
        vkr_soundtrack_free(&st);
    }
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);
}

/* ---- a generator error names the stem and leaves nothing behind ------------- */

static void test_error(void)
{
    vkr_storyboard sb;
    vkr_timeline tl = {0};
    if (load_board(otter, &sb, &tl)) {
        CHECK(0, "board: %s", vkr_last_error());
        return;
    }
    synth sy = {.fail_prompt = "cabin hum"};
    vkr_sound_generator gen = {.ctx = &sy, .generate = synth_generate};
    vkr_soundtrack st;
    int rc = vkr_soundtrack_render(&sb, &tl, &gen, NULL, NULL, &st);
    CHECK_EQ_INT(rc, VKR_E_TEMPFAIL);
    CHECK(strstr(vkr_last_error(), "ambience 'seat'") && strstr(vkr_last_error(), "synthetic failure"),
          "message: %s", vkr_last_error());
    CHECK(st.stems == NULL && st.mix == NULL && st.n_stems == 0, "output left empty");
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);
}

/* ---- the storyboard sampler -> the model's scheduler ----------------------- */

static void test_sched_mapping(void)
{
    const char *path = "tests/golden/pipeline_audioldm/scheduler/scheduler_config.json";
    vkr_sched_config model, got, ref;
    if (vkr_sched_config_load(&model, path, -1)) {
        CHECK(0, "%s: %s", path, vkr_last_error());
        return;
    }
    CHECK_EQ_INT(model.kind, VKR_SAMPLER_DDIM);
    /* Same kind: the model's config as is. */
    CHECK(vkr_sched_config_for_kind(&model, path, VKR_SAMPLER_DDIM, &got) == 0, "%s", vkr_last_error());
    CHECK(got.kind == VKR_SAMPLER_DDIM && got.beta_start == model.beta_start && got.steps_offset == 1 &&
              !got.set_alpha_to_one && !got.clip_sample && got.timestep_spacing == VKR_SPACING_LEADING,
          "DDIM -> DDIM keeps the model's config");
    vkr_sched_config_free(&got);
    /* Other kinds: equal to diffusers' from_config on this (sparse) file in every
     * field the chosen sampler reads. */
    const vkr_sampler_kind kinds[2] = {VKR_SAMPLER_EULER, VKR_SAMPLER_DPMPP_2M};
    for (int i = 0; i < 2; i++) {
        if (vkr_sched_config_for_kind(&model, path, kinds[i], &got) ||
            vkr_sched_config_load(&ref, path, kinds[i])) {
            CHECK(0, "%s", vkr_last_error());
            continue;
        }
        const char *nm = vkr_sampler_kind_name(kinds[i]);
        CHECK(got.kind == kinds[i], "%s: kind %d", nm, got.kind);
        CHECK(got.num_train_timesteps == ref.num_train_timesteps && got.beta_start == ref.beta_start &&
                  got.beta_end == ref.beta_end && got.beta_schedule == ref.beta_schedule,
              "%s: training schedule", nm);
        CHECK(got.prediction_type == ref.prediction_type && got.timestep_spacing == ref.timestep_spacing &&
                  got.steps_offset == ref.steps_offset && got.use_karras_sigmas == ref.use_karras_sigmas &&
                  got.rescale_betas_zero_snr == ref.rescale_betas_zero_snr,
              "%s: prediction %d/%d spacing %d/%d offset %d/%d", nm, got.prediction_type, ref.prediction_type,
              got.timestep_spacing, ref.timestep_spacing, got.steps_offset, ref.steps_offset);
        CHECK(got.solver_order == ref.solver_order && got.algorithm_type == ref.algorithm_type &&
                  got.lower_order_final == ref.lower_order_final && got.final_sigmas_type == ref.final_sigmas_type,
              "%s: solver settings", nm);
        CHECK_EQ_INT(got.timestep_spacing, VKR_SPACING_LINSPACE);
        vkr_sched_config_free(&got);
        vkr_sched_config_free(&ref);
    }
    vkr_sched_config_free(&model);
}

int main(void)
{
    test_stems();
    test_beds();
    test_cues();
    test_peaky();
    test_silence_and_short();
    test_error();
    test_sched_mapping();
    return check_summary("soundtrack");
}
