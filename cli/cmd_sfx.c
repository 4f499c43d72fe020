/* vkreel sfx: sound effects as WAV files from an AudioLDM model directory —
 * one effect for a prompt, or every stem of a storyboard's sound track plus
 * its mix (the same mix `render --audio-model` puts in the MP4). docs/sfx.md. */
#include "commands.h"

#include "audio/loudness.h"
#include "common/log.h"
#include "common/status.h"
#include "pipeline/audioldm.h"
#include "pipeline/soundtrack.h"
#include "pipeline/storyboard.h"
#include "pipeline/timeline.h"
#include "pipeline/wav_writer.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vkreel sfx \"PROMPT\" -d SECONDS -o OUT.wav [options]\n"
            "       vkreel sfx BOARD.json --stems DIR/ [options]\n\n"
            "Renders sound effects with an AudioLDM model (diffusers layout, e.g.\n"
            "cvssp/audioldm-s-full-v2): one WAV for a prompt, or one WAV per SFX cue,\n"
            "ambience and music bed of a storyboard plus mix.wav.\n\n"
            "Prompt mode writes exactly round(SECONDS x rate) samples, mono, peak-normalised\n"
            "to -1 dBTP true peak, with the prompt, seed, model and sampler in the WAV's\n"
            "INFO and bext metadata.\n\n"
            "Storyboard mode writes into DIR (created if missing; its parent must exist):\n"
            "  sfx-<cue id>.wav, ambience-<shot id>.wav, music.wav   mono stems at the board's\n"
            "      sample rate, at their reference level, before gain and pan\n"
            "  mix.wav   the finished sound track (board channels, loudness target, true-peak\n"
            "      ceiling): the audio that 'vkreel render --audio-model' puts in the MP4\n"
            "Seeds, sampler, rate and channels come from the board.\n\n"
            "Options:\n"
            "  -d, --duration SECONDS   length of the effect, (0, 600] (prompt mode)\n"
            "  -o, --output FILE        output WAV (prompt mode)\n"
            "      --stems DIR          output directory (storyboard mode)\n"
            "      --audio-model DIR    AudioLDM model directory (or models.audio in the board)\n"
            "      --negative-prompt T  negative prompt (prompt mode)\n"
            "      --seed N             noise seed (prompt mode; default 0)\n"
            "      --steps N            sampler steps, 1..1000 (prompt mode; default 10)\n"
            "      --guidance W         classifier-free guidance, 0..50 (prompt mode; default 2.5)\n"
            "      --rate HZ            output sample rate, 8000..192000 (prompt mode; default 48000)\n"
            "      --format f32|s24     WAV sample format (default f32)\n"
            "      --vocoder hifigan|griffinlim   (default hifigan)\n"
            "      --device SPEC        Vulkan device: index, name substring or UUID\n"
            "  -q, --quiet              no progress or summary\n"
            "  -h, --help               show this help\n\n"
            "Progress goes to stderr: a line per diffusion step and per finished stem.\n\n"
            "Exit status: 0 ok, 64 usage error, 65 invalid storyboard or model data,\n"
            "66 missing storyboard or model, 70 internal error, 73 cannot write the output,\n"
            "75 no usable Vulkan device or out of device memory (retry later).\n");
}

typedef struct {
    const char *arg;           /* PROMPT or BOARD.json */
    const char *output, *stems, *model, *negative, *device;
    double duration;
    uint64_t seed;
    int steps;                 /* 0: default */
    double guidance;           /* NAN: default */
    int rate;
    vkr_wav_format format;
    vkr_vocoder_kind vocoder;
    bool quiet;
    bool prompt_only_option;   /* one of the prompt-mode options was given */
    const char *prompt_only_name;
} sfx_opts;

typedef struct {
    bool quiet;
    /* Storyboard mode: the planned stems that get generated (n > 0), in order,
     * and the index of the one being generated. */
    const vkr_stem **stems;
    int n_stems, stem;
} sfx_progress;

static void on_step(void *ctx, int step, int n_steps)
{
    sfx_progress *p = ctx;
    if (p->quiet)
        return;
    if (p->stem < p->n_stems)
        fprintf(stderr, "sfx: %s '%s' (%d/%d): step %d/%d\n", vkr_stem_kind_name(p->stems[p->stem]->kind),
                p->stems[p->stem]->id, p->stem + 1, p->n_stems, step, n_steps);
    else
        fprintf(stderr, "sfx: step %d/%d\n", step, n_steps);
}

static void on_stem(void *ctx, int done, int total)
{
    sfx_progress *p = ctx;
    if (!p->quiet && done >= 1 && done <= p->n_stems)
        fprintf(stderr, "sfx: %s '%s' done (%d/%d stems)\n", vkr_stem_kind_name(p->stems[done - 1]->kind),
                p->stems[done - 1]->id, done, total);
    p->stem = done;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Fails early (before minutes of diffusion) when the output's directory is missing. */
static int check_output_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return VKR_OK;
    char dir[4096];
    size_t n = (size_t)(slash - path);
    if (n == 0)
        return VKR_OK; /* "/name" */
    if (n >= sizeof dir)
        return vkr_fail(VKR_E_CANTCREATE, "%s: path too long", path);
    memcpy(dir, path, n);
    dir[n] = 0;
    if (!is_dir(dir))
        return vkr_fail(VKR_E_CANTCREATE, "%s: directory '%s' does not exist", path, dir);
    return VKR_OK;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+')
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, sfx_opts *o)
{
    static const struct option opts[] = {
        {"duration", required_argument, 0, 'd'}, {"output", required_argument, 0, 'o'},
        {"stems", required_argument, 0, 'S'},    {"audio-model", required_argument, 0, 'm'},
        {"negative-prompt", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
        {"steps", required_argument, 0, 't'},    {"guidance", required_argument, 0, 'g'},
        {"rate", required_argument, 0, 'r'},     {"format", required_argument, 0, 'f'},
        {"vocoder", required_argument, 0, 'v'},  {"device", required_argument, 0, 'D'},
        {"quiet", no_argument, 0, 'q'},          {0, 0, 0, 0},
    };
    *o = (sfx_opts){.guidance = NAN, .rate = 48000, .format = VKR_WAV_F32, .vocoder = VKR_VOCODER_HIFIGAN};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":d:o:q", opts, NULL)) != -1) {
        char *end = NULL;
        uint64_t v;
        switch (c) {
        case 'd':
            errno = 0;
            o->duration = strtod(optarg, &end);
            if (errno || !end || end == optarg || *end || !(o->duration > 0) || o->duration > 600)
                return cli_usage("sfx", "--duration: expected seconds in (0, 600], found '%s'", optarg);
            o->prompt_only_option = true, o->prompt_only_name = "-d/--duration";
            break;
        case 'o':
            o->output = optarg;
            o->prompt_only_option = true, o->prompt_only_name = "-o/--output";
            break;
        case 'S': o->stems = optarg; break;
        case 'm': o->model = optarg; break;
        case 'n':
            o->negative = optarg;
            o->prompt_only_option = true, o->prompt_only_name = "--negative-prompt";
            break;
        case 's':
            if (parse_u64(optarg, &o->seed))
                return cli_usage("sfx", "--seed: expected a non-negative integer, found '%s'", optarg);
            o->prompt_only_option = true, o->prompt_only_name = "--seed";
            break;
        case 't':
            if (parse_u64(optarg, &v) || v < 1 || v > 1000)
                return cli_usage("sfx", "--steps: expected an integer in 1..1000, found '%s'", optarg);
            o->steps = (int)v;
            o->prompt_only_option = true, o->prompt_only_name = "--steps";
            break;
        case 'g':
            errno = 0;
            o->guidance = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->guidance >= 0 && o->guidance <= 50))
                return cli_usage("sfx", "--guidance: expected a number in 0..50, found '%s'", optarg);
            o->prompt_only_option = true, o->prompt_only_name = "--guidance";
            break;
        case 'r':
            if (parse_u64(optarg, &v) || v < 8000 || v > 192000)
                return cli_usage("sfx", "--rate: expected Hz in 8000..192000, found '%s'", optarg);
            o->rate = (int)v;
            o->prompt_only_option = true, o->prompt_only_name = "--rate";
            break;
        case 'f':
            if (strcmp(optarg, "f32") == 0)
                o->format = VKR_WAV_F32;
            else if (strcmp(optarg, "s24") == 0)
                o->format = VKR_WAV_S24;
            else
                return cli_usage("sfx", "--format: expected f32 or s24, found '%s'", optarg);
            break;
        case 'v':
            if (strcmp(optarg, "hifigan") == 0)
                o->vocoder = VKR_VOCODER_HIFIGAN;
            else if (strcmp(optarg, "griffinlim") == 0)
                o->vocoder = VKR_VOCODER_GRIFFINLIM;
            else
                return cli_usage("sfx", "--vocoder: expected hifigan or griffinlim, found '%s'", optarg);
            break;
        case 'D': o->device = optarg; break;
        case 'q': o->quiet = true; break;
        case ':':
            return cli_usage("sfx", "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage("sfx", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage("sfx", "expected one PROMPT or BOARD.json argument");
    o->arg = argv[optind];
    if (o->stems) {
        if (o->prompt_only_option)
            return cli_usage("sfx", "%s is for prompt mode; with --stems everything comes from the storyboard",
                             o->prompt_only_name);
    } else {
        if (!o->output || o->duration <= 0)
            return cli_usage("sfx", "prompt mode needs -d SECONDS and -o OUT.wav (or --stems DIR with a storyboard)");
        if (!o->arg[0])
            return cli_usage("sfx", "empty prompt");
        size_t len = strlen(o->arg);
        struct stat st;
        if (len > 5 && strcmp(o->arg + len - 5, ".json") == 0 && stat(o->arg, &st) == 0 && S_ISREG(st.st_mode))
            return cli_usage("sfx", "'%s' is a file, not a prompt: render a storyboard's sounds with --stems DIR",
                             o->arg);
    }
    return VKR_OK;
}

/* Creates the GPU context and loads the model. */
static int open_model(const sfx_opts *o, const char *dir, vkr_gpu **gpu, vkr_audioldm **model)
{
    int rc;
    if (!is_dir(dir))
        return vkr_fail(VKR_E_NOINPUT, "audio model directory '%s' not found", dir);
    if ((rc = vkr_gpu_create(&(vkr_gpu_options){.device = o->device}, gpu)))
        return rc;
    if ((rc = vkr_audioldm_load(*gpu, dir, VKR_F32, model)))
        return vkr_fail_context(rc, "%s", dir);
    return VKR_OK;
}

static int prompt_mode(const sfx_opts *o)
{
    if (!o->model)
        return vkr_fail(VKR_E_NOINPUT, "no audio model: pass --audio-model DIR (an AudioLDM directory in "
                                       "diffusers layout)");
    vkr_gpu *gpu = NULL;
    vkr_audioldm *model = NULL;
    float *wav = NULL;
    char *name = NULL;
    int rc = check_output_dir(o->output);
    if (rc)
        return rc;
    rc = open_model(o, o->model, &gpu, &model);
    if (rc)
        goto done;
    const int64_t n = vkr_us_to_index(vkr_seconds_to_us(o->duration), o->rate, 1);
    if (n < 1) {
        rc = vkr_fail(VKR_E_USAGE, "--duration %g s is less than one sample at %d Hz", o->duration, o->rate);
        goto done;
    }
    const vkr_sampler_cfg sampler = {
        .name = vkr_audioldm_scheduler_config(model)->kind,
        .steps = o->steps ? o->steps : VKR_SOUNDTRACK_AUDIOLDM_STEPS,
        .guidance = isnan(o->guidance) ? VKR_SOUNDTRACK_AUDIOLDM_GUIDANCE : o->guidance,
    };
    sfx_progress pr = {.quiet = o->quiet};
    vkr_soundtrack_audioldm a = {.gpu = gpu, .model = model, .vocoder = o->vocoder,
                                 .step_progress = on_step, .step_progress_ctx = &pr};
    if (!(name = cli_model_name(o->model))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    vkr_sound_generator gen = vkr_soundtrack_audioldm_generator(&a, name);
    if ((rc = gen.generate(gen.ctx, o->arg, o->negative, o->seed, &sampler, o->rate, n, &wav)))
        goto done;
    /* Integrated loudness is undefined under 400 ms: effects take the peak rule. */
    double gain_db = 0;
    if ((rc = vkr_peak_normalize(wav, n, 1, o->rate, VKR_SOUNDTRACK_SFX_PEAK_DBTP, &gain_db)))
        goto done;
    vkr_loudness l;
    if ((rc = vkr_loudness_measure(wav, n, 1, o->rate, &l)))
        goto done;
    char comment[8192], desc[1024]; /* the writer cuts bext to 256 bytes */
    snprintf(comment, sizeof comment,
             "prompt: %s; negative prompt: %s; seed: %llu; model: %s; sampler: %s; steps: %d; guidance: %g; "
             "vocoder: %s; peak-normalised to %g dBTP",
             o->arg, o->negative ? o->negative : "", (unsigned long long)o->seed, name,
             vkr_sampler_name(sampler.name), sampler.steps, sampler.guidance,
             o->vocoder == VKR_VOCODER_HIFIGAN ? "hifigan" : "griffinlim", VKR_SOUNDTRACK_SFX_PEAK_DBTP);
    snprintf(desc, sizeof desc, "seed %llu, %s, %d steps, %s: %s", (unsigned long long)o->seed, name,
             sampler.steps, vkr_sampler_name(sampler.name), o->arg);
    vkr_wav_meta meta = {.title = o->arg, .comment = comment, .artist = name, .description = desc};
    if ((rc = vkr_wav_write(o->output, wav, n, 1, o->rate, o->format, &meta)))
        goto done;
    if (!o->quiet)
        printf("%s: %lld samples at %d Hz (%.6f s), true peak %.2f dBTP, seed %llu\n", o->output,
               (long long)n, o->rate, (double)n / o->rate, l.true_peak_dbtp, (unsigned long long)o->seed);
done:
    free(wav);
    free(name);
    vkr_audioldm_free(model);
    vkr_gpu_destroy(gpu);
    return rc;
}

static int write_stem(const char *dir, const vkr_soundtrack *st, const vkr_stem *s, const char *model,
                      const vkr_storyboard *sb, vkr_wav_format fmt, bool quiet)
{
    char path[4096], comment[8192], desc[1024]; /* the writer cuts bext to 256 bytes */
    if (s->kind == VKR_STEM_MUSIC)
        snprintf(path, sizeof path, "%s/music.wav", dir);
    else
        snprintf(path, sizeof path, "%s/%s-%s.wav", dir, vkr_stem_kind_name(s->kind), s->id);
    snprintf(comment, sizeof comment,
             "prompt: %s; seed: %llu; model: %s; sampler: %s; steps: %d; guidance: %g; start sample: %lld; "
             "samples: %lld; rate: %d; reference gain: %.3f dB; mix gain: %g dB; pan: %g",
             s->prompt, (unsigned long long)s->seed, model, vkr_sampler_name(sb->audio_sampler.name),
             sb->audio_sampler.steps, sb->audio_sampler.guidance, (long long)s->start, (long long)s->n,
             st->rate, s->level_gain_db, s->gain_db, s->pan);
    snprintf(desc, sizeof desc, "%s %s, start %lld, seed %llu: %s", vkr_stem_kind_name(s->kind), s->id,
             (long long)s->start, (unsigned long long)s->seed, s->prompt);
    vkr_wav_meta meta = {.title = s->id, .comment = comment, .artist = model, .description = desc};
    int rc = vkr_wav_write(path, s->samples, s->n, 1, st->rate, fmt, &meta);
    if (!rc && !quiet)
        printf("%s: %s '%s', samples [%lld, %lld)\n", path, vkr_stem_kind_name(s->kind), s->id,
               (long long)s->start, (long long)(s->start + s->n));
    return rc;
}

static int storyboard_mode(const sfx_opts *o)
{
    vkr_storyboard sb;
    vkr_diags diags = {0};
    int rc = vkr_storyboard_load(o->arg, &sb, &diags);
    vkr_diags_print(&diags, o->arg, stderr);
    bool had_diags = diags.n > 0 || diags.dropped > 0;
    vkr_diags_free(&diags);
    if (rc) {
        if (had_diags)
            vkr_fail(rc, "%s: invalid storyboard", o->arg);
        return rc;
    }
    vkr_timeline tl = {0};
    vkr_soundtrack st = {0}, plan = {0};
    const vkr_stem **labels = NULL;
    vkr_gpu *gpu = NULL;
    vkr_audioldm *model = NULL;
    char *name = NULL;
    const char *dir = o->model ? o->model : sb.audio_model;
    if (!dir) {
        rc = vkr_fail(VKR_E_NOINPUT, "no audio model: pass --audio-model DIR or set models.audio in %s", o->arg);
        goto done;
    }
    if ((rc = vkr_timeline_build(&sb, &tl)))
        goto done;
    if (mkdir(o->stems, 0777) != 0 && errno != EEXIST) {
        rc = vkr_fail(VKR_E_CANTCREATE, "%s: cannot create the stems directory: %s", o->stems, strerror(errno));
        goto done;
    }
    if (!is_dir(o->stems)) {
        rc = vkr_fail(VKR_E_CANTCREATE, "%s: not a directory", o->stems);
        goto done;
    }
    if ((rc = open_model(o, dir, &gpu, &model)))
        goto done;
    if ((rc = vkr_soundtrack_plan(&sb, &tl, &plan)))
        goto done;
    labels = calloc((size_t)plan.n_stems + 1, sizeof *labels);
    if (!labels) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    sfx_progress pr = {.quiet = o->quiet, .stems = labels};
    for (int i = 0; i < plan.n_stems; i++)
        if (plan.stems[i].n > 0)
            labels[pr.n_stems++] = &plan.stems[i];
    vkr_soundtrack_audioldm a = {.gpu = gpu, .model = model, .vocoder = o->vocoder,
                                 .step_progress = on_step, .step_progress_ctx = &pr};
    if (!(name = cli_model_name(dir))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    vkr_sound_generator gen = vkr_soundtrack_audioldm_generator(&a, name);
    if ((rc = vkr_soundtrack_render(&sb, &tl, &gen, on_stem, &pr, &st)))
        goto done;
    for (int i = 0; i < st.n_stems; i++)
        if (st.stems[i].n > 0 && (rc = write_stem(o->stems, &st, &st.stems[i], name, &sb, o->format, o->quiet)))
            goto done;
    char path[4096], comment[1024];
    snprintf(path, sizeof path, "%s/mix.wav", o->stems);
    snprintf(comment, sizeof comment,
             "sound track of %s; model: %s; %d stems; integrated %.2f LUFS (target %g); true peak %.2f dBTP "
             "(ceiling %g)", sb.path ? sb.path : o->arg, name, st.n_stems, st.integrated_lufs, sb.loudness_lufs,
             st.true_peak_dbtp, sb.true_peak_dbtp);
    vkr_wav_meta meta = {.title = sb.title && sb.title[0] ? sb.title : "mix", .comment = comment,
                         .artist = name, .description = comment};
    if ((rc = vkr_wav_write(path, st.mix, st.n_frames, st.channels, st.rate, o->format, &meta)))
        goto done;
    if (!o->quiet)
        printf("%s: %lld frames x %d channels at %d Hz, %.2f LUFS, true peak %.2f dBTP\n", path,
               (long long)st.n_frames, st.channels, st.rate, st.integrated_lufs, st.true_peak_dbtp);
done:
    free(labels);
    free(name);
    vkr_soundtrack_free(&plan);
    vkr_soundtrack_free(&st);
    vkr_audioldm_free(model);
    vkr_gpu_destroy(gpu);
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);
    return rc;
}

int cmd_sfx(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return VKR_OK;
    }
    sfx_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (o.quiet)
        vkr_log_set_level(VKR_LOG_WARN);
    rc = o.stems ? storyboard_mode(&o) : prompt_mode(&o);
    if (rc)
        cli_error(rc, "sfx");
    return rc;
}
