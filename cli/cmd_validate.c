/* vkreel validate FILE...: check storyboards and report every problem. */
#include "commands.h"

#include "common/status.h"
#include "pipeline/storyboard.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vkreel validate [--canonical] FILE...\n\n"
            "Checks each storyboard (docs/storyboard.md) and reports every problem, one per\n"
            "line on stderr, as FILE:LINE:COL: /json/pointer: message. For each valid file\n"
            "prints 'FILE: ok (N shots, T s)' on stdout.\n\n"
            "Options:\n"
            "  --canonical  also print each valid board, resolved (defaults filled in, seeds\n"
            "               and cue times explicit), as one line of JSON on stdout\n"
            "  -h, --help   show this help\n\n"
            "Exit status: 0 all valid, 65 some storyboard invalid, 66 a file is missing or\n"
            "unreadable (takes precedence over 65), 64 usage error.\n");
}

/* A missing file outranks an invalid one (66 over 65): it is usually the bigger mistake. */
static int worse(int a, int b)
{
    if (a == VKR_E_NOINPUT || b == VKR_OK)
        return a;
    if (b == VKR_E_NOINPUT || a == VKR_OK)
        return b;
    return a > b ? a : b;
}

int cmd_validate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return VKR_OK;
    }
    int canonical = 0, n_files = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            n_files += argc - i - 1;
            break;
        }
        if (argv[i][0] == '-' && argv[i][1] != 0) {
            if (strcmp(argv[i], "--canonical") == 0) {
                canonical = 1;
                continue;
            }
            return cli_usage("validate", "unknown option '%s'", argv[i]);
        }
        n_files++;
    }
    if (n_files == 0)
        return cli_usage("validate", "expected at least one storyboard FILE");

    int worst = VKR_OK;
    int after_dashdash = 0;
    for (int i = 1; i < argc; i++) {
        if (!after_dashdash && strcmp(argv[i], "--") == 0) {
            after_dashdash = 1;
            continue;
        }
        if (!after_dashdash && argv[i][0] == '-' && argv[i][1] != 0)
            continue; /* an option, handled above */
        const char *path = argv[i];
        vkr_storyboard sb;
        vkr_diags diags = {0};
        int rc = vkr_storyboard_load(path, &sb, &diags);
        vkr_diags_print(&diags, path, stderr);
        if (rc == VKR_OK) {
            printf("%s: ok (%d shot%s, %g s)\n", path, sb.n_shots, sb.n_shots == 1 ? "" : "s",
                   sb.total_duration);
            if (canonical)
                printf("%s\n", sb.canonical_json);
        } else if (diags.n == 0 && diags.dropped == 0) {
            cli_error(rc, "validate"); /* missing file, out of memory: no located problem */
        }
        vkr_diags_free(&diags);
        vkr_storyboard_free(&sb);
        worst = worse(worst, rc);
    }
    fflush(stdout);
    return worst;
}
