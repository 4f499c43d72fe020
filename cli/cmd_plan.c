/* vkreel plan FILE [--json]: resolve a storyboard to exact frame and sample
 * ranges and print them as a table, or as the stable plan JSON a render farm
 * splits work from (docs/timeline.md). */
#include "commands.h"

#include "common/status.h"
#include "pipeline/storyboard.h"
#include "pipeline/timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: vkreel plan FILE [--json]\n\n"
           "Resolves the storyboard FILE to exact frame and sample ranges for every shot,\n"
           "crossfade, sound-effect cue and subtitle, and prints them as a table.\n\n"
           "Options:\n"
           "  --json      print the plan as stable JSON (format \"vkreel-plan\", version 1;\n"
           "              see docs/timeline.md) instead of the table\n"
           "  -h, --help  show this help\n\n"
           "Exit codes: 0 ok, 64 usage, 65 invalid storyboard (every problem is listed on\n"
           "stderr as FILE:LINE:COL: /pointer: message), 66 FILE cannot be read.\n");
}

int cmd_plan(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, ret;
    vkr_storyboard sb = {0};
    vkr_diags diags = {0};
    vkr_timeline tl = {0};
    char *text = NULL;

    if (cli_wants_help(argc, argv)) {
        usage();
        return VKR_OK;
    }
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        if (!only_files && strcmp(argv[i], "--") == 0)
            only_files = 1;
        else if (!only_files && strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (!only_files && argv[i][0] == '-' && argv[i][1])
            return cli_usage("plan", "unknown option '%s'", argv[i]);
        else if (path)
            return cli_usage("plan", "unexpected argument '%s' (one storyboard at a time)",
                             argv[i]);
        else
            path = argv[i];
    }
    if (!path)
        return cli_usage("plan", "missing storyboard FILE");

    ret = vkr_storyboard_load(path, &sb, &diags);
    if (ret == VKR_E_DATA && diags.n > 0) {
        vkr_diags_print(&diags, path, stderr);
        goto done;
    }
    if (ret) {
        cli_error(ret, "plan");
        goto done;
    }
    if ((ret = vkr_timeline_build(&sb, &tl))) {
        cli_error(ret, "plan");
        goto done;
    }
    if (json) {
        text = vkr_timeline_to_json(&sb, &tl);
        if (!text) {
            ret = cli_error(VKR_E_INTERNAL, "plan");
            goto done;
        }
        fputs(text, stdout);
    } else {
        vkr_timeline_print(&sb, &tl, stdout);
    }
    /* A full disk or closed pipe must not look like success to a script. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "vkreel plan: cannot write the plan to standard output\n");
        ret = VKR_E_CANTCREATE;
    }
done:
    free(text);
    vkr_timeline_free(&tl);
    vkr_storyboard_free(&sb);
    vkr_diags_free(&diags);
    return ret;
}
