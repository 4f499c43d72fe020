/* vkreel render FILE -o OUT.mp4 [--testcard]: render a storyboard to an MP4. */
#include "commands.h"

#include "common/log.h"
#include "common/status.h"
#include "pipeline/render.h"
#include "pipeline/storyboard.h"
#include "pipeline/testcard.h"
#include "pipeline/timeline.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vkreel render FILE -o OUT.mp4 [--testcard] [--video-model DIR]\n"
            "                     [--audio-model DIR] [--seed N] [--device SPEC] [--quiet]\n\n"
            "Renders the storyboard FILE (docs/storyboard.md) to OUT.mp4: H.264 High yuv420p\n"
            "BT.709 video, AAC audio and mov_text subtitles, plus OUT.srt and OUT.vtt. Size,\n"
            "frame rate, sample rate, channels and crf come from the storyboard's \"output\".\n"
            "The file is written under a temporary name and renamed into place when complete.\n\n"
            "Options:\n"
            "  -o, --output OUT.mp4  the clip to write (required)\n"
            "  --testcard            render the built-in A/V sync test card instead of models:\n"
            "                        each frame shows the shot id, frame number and timecode\n"
            "                        on a per-shot colour; each sound cue is a white flash\n"
            "                        frame and a 1 kHz beep (-12 dBFS) on its exact frame and\n"
            "                        sample. Check the result with 'vkreel verify'.\n"
            "  --video-model DIR     text-to-video model directory (overrides models.video)\n"
            "  --audio-model DIR     AudioLDM model directory (overrides models.audio)\n"
            "  --seed N              override the storyboard's seed\n"
            "  --device SPEC         Vulkan device: index, name substring or UUID\n"
            "  -q, --quiet           no progress or summary\n"
            "  -h, --help            show this help\n\n"
            "Model rendering is not available yet (the diffusion pipelines arrive in a\n"
            "later release): without --testcard, render exits with 66.\n\n"
            "Progress goes to stderr: one updating line with percentage and ETA on a\n"
            "terminal, otherwise a line every 10 %%.\n\n"
            "Exit status: 0 ok, 64 usage error, 65 invalid storyboard, 66 missing storyboard\n"
            "or model, 73 cannot write the output.\n");
}

typedef struct {
    bool tty;
    struct timespec start;
    double last_print;
    int last_decile;
    bool printed;
} progress_state;

static double elapsed(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void progress(void *ctx, int64_t done, int64_t total)
{
    progress_state *ps = ctx;
    double t = elapsed(&ps->start);
    int pct = (int)(100 * done / total);
    if (ps->tty) {
        /* Redraw at most ~10 times a second, and always at the end. */
        if (done != total && t - ps->last_print < 0.1)
            return;
        ps->last_print = t;
        double eta = done > 0 ? t * (double)(total - done) / (double)done : 0.0;
        int e = (int)(eta + 0.5);
        fprintf(stderr, "\rrendering: %3d%% (%lld/%lld frames), ETA %d:%02d   ", pct,
                (long long)done, (long long)total, e / 60, e % 60);
        if (done == total)
            fputc('\n', stderr);
        fflush(stderr);
    } else {
        int decile = (int)(10 * done / total);
        if (decile == ps->last_decile)
            return;
        ps->last_decile = decile;
        fprintf(stderr, "rendering: %d%% (%lld/%lld frames, %.1f s)\n", pct, (long long)done,
                (long long)total, t);
    }
    ps->printed = true;
}

/* "--name value" or "--name=value"; advances *i past a separate value. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != 0)
        return 0;
    if (*i + 1 >= argc) {
        *value = NULL;
        return 1;
    }
    *value = argv[++*i];
    return 1;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cmd_render(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return VKR_OK;
    }
    const char *file = NULL, *out = NULL, *video_model = NULL, *audio_model = NULL;
    const char *seed_text = NULL, *device = NULL;
    bool testcard = false, quiet = false, dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (dashdash || a[0] != '-' || a[1] == 0) {
            if (file)
                return cli_usage("render", "expected one storyboard FILE, found '%s' and '%s'",
                                 file, a);
            file = a;
            continue;
        }
        if (strcmp(a, "--testcard") == 0) {
            testcard = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (option_value(argc, argv, &i, "-o", &v) ||
                   option_value(argc, argv, &i, "--output", &v)) {
            if (!v)
                return cli_usage("render", "%s needs a file name", a);
            out = v;
        } else if (option_value(argc, argv, &i, "--video-model", &v)) {
            if (!v)
                return cli_usage("render", "--video-model needs a directory");
            video_model = v;
        } else if (option_value(argc, argv, &i, "--audio-model", &v)) {
            if (!v)
                return cli_usage("render", "--audio-model needs a directory");
            audio_model = v;
        } else if (option_value(argc, argv, &i, "--seed", &v)) {
            if (!v)
                return cli_usage("render", "--seed needs a number");
            seed_text = v;
        } else if (option_value(argc, argv, &i, "--device", &v)) {
            if (!v)
                return cli_usage("render", "--device needs a device index, name or UUID");
            device = v;
        } else {
            return cli_usage("render", "unknown option '%s'", a);
        }
    }
    if (!file)
        return cli_usage("render", "expected a storyboard FILE");
    if (!out)
        return cli_usage("render", "expected -o OUT.mp4");
    uint64_t seed_override = 0;
    if (seed_text) {
        char *end;
        errno = 0;
        seed_override = strtoull(seed_text, &end, 10);
        if (errno || end == seed_text || *end || seed_text[0] == '-')
            return cli_usage("render", "--seed: expected a non-negative integer, found '%s'",
                             seed_text);
    }
    if (quiet)
        vkr_log_set_level(VKR_LOG_WARN);

    vkr_storyboard sb;
    vkr_diags diags = {0};
    int rc = vkr_storyboard_load(file, &sb, &diags);
    vkr_diags_print(&diags, file, stderr);
    bool had_diags = diags.n > 0 || diags.dropped > 0;
    vkr_diags_free(&diags);
    if (rc) {
        if (!had_diags)
            cli_error(rc, "render");
        return rc;
    }

    vkr_timeline tl = {0};
    if (!testcard) {
        const char *model = video_model ? video_model : sb.video_model;
        if (!model)
            rc = vkr_fail(VKR_E_NOINPUT,
                          "no video model: pass --video-model DIR or set models.video in %s "
                          "(or render the A/V test card with --testcard)",
                          file);
        else if (!is_dir(model))
            rc = vkr_fail(VKR_E_NOINPUT, "video model directory '%s' not found", model);
        else
            rc = vkr_fail(VKR_E_NOINPUT,
                          "model rendering is not available yet (the diffusion pipelines arrive "
                          "in a later release); use --testcard");
        goto done;
    }
    (void)audio_model; /* models: later; accepted now so scripts need not change */
    if (device)
        vkr_debug("render: --device %s ignored by the test card", device);

    if ((rc = vkr_timeline_build(&sb, &tl)))
        goto done;
    vkr_testcard tc;
    if ((rc = vkr_testcard_init(&tc, &sb, &tl)))
        goto done;
    progress_state ps = {.tty = isatty(STDERR_FILENO) == 1, .last_decile = 0};
    clock_gettime(CLOCK_MONOTONIC, &ps.start);
    vkr_render_job job = {
        .sb = &sb,
        .tl = &tl,
        .out_path = out,
        .model = "testcard",
        .seed = seed_text ? seed_override : sb.seed,
        .progress = quiet ? NULL : progress,
        .progress_ctx = &ps,
    };
    vkr_testcard_sources(&tc, &job.video, &job.audio);
    rc = vkr_render(&job);
    if (rc && ps.tty && ps.printed)
        fputc('\n', stderr); /* end the half-drawn progress line before the error */
    if (!rc && !quiet)
        printf("%s: %lld frames, %.3f s, %d cue%s, %d subtitle%s (test card)\n", out,
               (long long)tl.n_frames, (double)tl.duration_us / 1e6, tl.n_cues,
               tl.n_cues == 1 ? "" : "s", tl.n_subtitles, tl.n_subtitles == 1 ? "" : "s");
done:
    if (rc)
        cli_error(rc, "render");
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);
    return rc;
}
