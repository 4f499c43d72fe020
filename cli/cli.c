#include "commands.h"

#include "common/status.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int cli_error(int code, const char *subcommand)
{
    const char *msg = vkr_last_error();
    fprintf(stderr, "vkreel %s: %s\n", subcommand, msg[0] ? msg : vkr_status_name(code));
    if (code == VKR_E_USAGE)
        fprintf(stderr, "Run 'vkreel %s --help' for usage.\n", subcommand);
    return code;
}

int cli_usage(const char *subcommand, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vkreel %s: ", subcommand);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fprintf(stderr, "Run 'vkreel %s --help' for usage.\n", subcommand);
    return VKR_E_USAGE;
}

/* The model directory's name, for the metadata: its last path component. */
char *cli_model_name(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/')
        b--;
    char *s = malloc(n - b + 1);
    if (s) {
        memcpy(s, dir + b, n - b);
        s[n - b] = 0;
    }
    return s;
}
