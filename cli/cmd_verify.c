/* vkreel verify OUT.mp4 [--storyboard FILE [--seed N]]: check a rendered clip. */
#include "commands.h"

#include "common/status.h"
#include "pipeline/storyboard.h"
#include "pipeline/timeline.h"
#include "pipeline/verify.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vkreel verify OUT.mp4 [--storyboard FILE [--seed N]]\n\n"
            "Reopens OUT.mp4 and checks: one H.264 High yuv420p video stream, one AAC audio\n"
            "stream and one mov_text subtitle stream; start times 0; BT.709 colour tags and\n"
            "limited (tv) range; the frame count; audio duration = video duration within one\n"
            "AAC frame (1024 samples); the subtitles.\n"
            "With --storyboard, everything is checked against the storyboard's plan (size,\n"
            "rates, frame count, subtitle texts and times, embedded generation metadata),\n"
            "and for a test card render (vkreel render --testcard) every frame and the\n"
            "audio are decoded: each sound cue must have a white flash on its planned frame\n"
            "and a beep starting within one frame of its planned sample, with no other\n"
            "flashes or beeps.\n\n"
            "Prints one line per check: 'NAME: ok (...)' or 'NAME: FAIL: expected ..., found ...'.\n\n"
            "Options:\n"
            "  --storyboard FILE  the storyboard the clip was rendered from\n"
            "  --seed N           the --seed the clip was rendered with, if any\n"
            "  -h, --help         show this help\n\n"
            "Exit status: 0 all checks pass, 65 some check failed (or the storyboard is\n"
            "invalid), 66 the file cannot be opened, 64 usage error.\n");
}

int cmd_verify(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return VKR_OK;
    }
    const char *file = NULL, *board = NULL, *seed_text = NULL;
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
        } else if (!dashdash && strcmp(a, "--storyboard") == 0) {
            if (i + 1 >= argc)
                return cli_usage("verify", "--storyboard needs a file name");
            board = argv[++i];
        } else if (!dashdash && strncmp(a, "--storyboard=", 13) == 0) {
            board = a + 13;
        } else if (!dashdash && strcmp(a, "--seed") == 0) {
            if (i + 1 >= argc)
                return cli_usage("verify", "--seed needs a number");
            seed_text = argv[++i];
        } else if (!dashdash && strncmp(a, "--seed=", 7) == 0) {
            seed_text = a + 7;
        } else if (!dashdash && a[0] == '-' && a[1] != 0) {
            return cli_usage("verify", "unknown option '%s'", a);
        } else if (file) {
            return cli_usage("verify", "expected one file, found '%s' and '%s'", file, a);
        } else {
            file = a;
        }
    }
    if (!file)
        return cli_usage("verify", "expected an MP4 file");
    uint64_t seed = 0;
    if (seed_text) {
        char *end;
        errno = 0;
        seed = strtoull(seed_text, &end, 10);
        if (errno || end == seed_text || *end || seed_text[0] == '-')
            return cli_usage("verify", "--seed: expected a non-negative integer, found '%s'", seed_text);
        if (!board)
            return cli_usage("verify", "--seed goes with --storyboard");
    }

    vkr_storyboard sb;
    vkr_timeline tl = {0};
    bool have_sb = false;
    int rc = VKR_OK;
    if (board) {
        vkr_diags diags = {0};
        rc = vkr_storyboard_load(board, &sb, &diags);
        vkr_diags_print(&diags, board, stderr);
        bool had_diags = diags.n > 0 || diags.dropped > 0;
        vkr_diags_free(&diags);
        if (rc) {
            if (!had_diags)
                cli_error(rc, "verify");
            return rc;
        }
        have_sb = true;
        if ((seed_text && (rc = vkr_storyboard_set_seed(&sb, seed))) || (rc = vkr_timeline_build(&sb, &tl))) {
            cli_error(rc, "verify");
            goto done;
        }
    }

    vkr_verify_opts opts = {have_sb ? &sb : NULL, have_sb ? &tl : NULL, -1};
    vkr_verify_report report;
    rc = vkr_verify(file, &opts, &report);
    vkr_verify_report_print(&report, stdout);
    fflush(stdout);
    if (rc == VKR_E_DATA && report.n_failed) {
        fprintf(stderr, "vkreel verify: %s: %d of %d checks failed:", file, report.n_failed, report.n);
        for (int i = 0, k = 0; i < report.n; i++)
            if (!report.checks[i].ok)
                fprintf(stderr, "%s %s", k++ ? "," : "", report.checks[i].name);
        fputc('\n', stderr);
    } else if (rc) {
        cli_error(rc, "verify");
    } else {
        printf("%s: all %d checks passed\n", file, report.n);
    }
    vkr_verify_report_free(&report);
done:
    if (have_sb) {
        vkr_timeline_free(&tl);
        vkr_storyboard_free(&sb);
    }
    return rc;
}
