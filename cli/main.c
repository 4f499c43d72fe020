/* vkreel: storyboard (JSON) -> finished MP4, with diffusion models as Vulkan
 * compute kernels. This file only dispatches to the subcommands. */
#include "commands.h"

#include "common/status.h"
#include "common/version.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"validate", cmd_validate, "check storyboards and report every problem"},
    {"plan", cmd_plan, "resolve a storyboard to exact frame and sample ranges"},
    {"render", cmd_render, "render a storyboard to an MP4 (models, or --testcard)"},
    {"sfx", cmd_sfx, "render sound effects to WAV files"},
    {"verify", cmd_verify, "check an MP4 against its plan (streams, sync, tags)"},
    {"devices", cmd_devices, "list Vulkan devices"},
    {"bench", cmd_bench, "time the Vulkan kernels (bench kernels --help)"},
    {"version", cmd_version, "print version information"},
    {"golden", cmd_golden, "run golden test cases and compare with tolerances"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "vkreel %s - storyboard to finished clip with diffusion models on Vulkan\n\n"
            "Usage: vkreel COMMAND [OPTIONS...]\n\nCommands:\n",
            VKR_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\nRun 'vkreel COMMAND --help' for a command's options.\n\n"
            "Exit codes: 0 ok, 64 usage, 65 invalid storyboard or data, 66 missing input or\n"
            "model, 70 internal error, 73 cannot create output, 75 temporary failure (GPU out\n"
            "of memory, device lost, no device; safe to retry).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return VKR_E_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return VKR_OK;
    }
    if (strcmp(name, "--version") == 0)
        return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vkreel: unknown command '%s'\n", name);
    usage(stderr);
    return VKR_E_USAGE;
}
