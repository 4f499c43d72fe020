/* vkreel sfx: sound effects as WAV files from an AudioLDM model directory.
 * The argument handling is final; the audio diffusion pipeline itself lands with
 * the text-to-audio work, and until then this command reports that clearly. */
#include "commands.h"

#include "common/status.h"

#include <errno.h>
#include <getopt.h>
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
            "Options:\n"
            "  -d, --duration SECONDS   length of the effect (prompt mode)\n"
            "  -o, --output FILE        output WAV (prompt mode)\n"
            "      --stems DIR          output directory (storyboard mode)\n"
            "      --audio-model DIR    AudioLDM model directory (or models.audio in the board)\n"
            "      --negative-prompt T  negative prompt\n"
            "      --seed N             noise seed (default 0)\n"
            "      --steps N            sampler steps (default: the scheduler config's)\n"
            "      --rate HZ            output sample rate (default 48000)\n"
            "      --format f32|s24     WAV sample format (default f32)\n"
            "      --vocoder hifigan|griffinlim\n"
            "      --device SPEC        Vulkan device: index, name substring or UUID\n"
            "  -h, --help               show this help\n");
}

int cmd_sfx(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return VKR_OK;
    }
    static const struct option opts[] = {
        {"duration", required_argument, 0, 'd'}, {"output", required_argument, 0, 'o'},
        {"stems", required_argument, 0, 'S'},    {"audio-model", required_argument, 0, 'm'},
        {"negative-prompt", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
        {"steps", required_argument, 0, 't'},    {"rate", required_argument, 0, 'r'},
        {"format", required_argument, 0, 'f'},   {"vocoder", required_argument, 0, 'v'},
        {"device", required_argument, 0, 'D'},   {0, 0, 0, 0},
    };
    const char *output = NULL, *stems = NULL, *model = NULL;
    double duration = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "d:o:", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'd':
            errno = 0;
            duration = strtod(optarg, &end);
            if (errno || !end || *end || !(duration > 0) || duration > 600)
                return cli_usage("sfx", "--duration: expected seconds in (0, 600], found '%s'", optarg);
            break;
        case 'o': output = optarg; break;
        case 'S': stems = optarg; break;
        case 'm': model = optarg; break;
        case 'f':
            if (strcmp(optarg, "f32") && strcmp(optarg, "s24"))
                return cli_usage("sfx", "--format: expected f32 or s24, found '%s'", optarg);
            break;
        case 'v':
            if (strcmp(optarg, "hifigan") && strcmp(optarg, "griffinlim"))
                return cli_usage("sfx", "--vocoder: expected hifigan or griffinlim, found '%s'", optarg);
            break;
        case 'n': case 's': case 't': case 'r': case 'D': break;
        default:
            return cli_usage("sfx", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage("sfx", "expected one PROMPT or BOARD.json argument");
    if (!stems && (!output || duration <= 0))
        return cli_usage("sfx", "prompt mode needs -d SECONDS and -o OUT.wav (or --stems DIR with a storyboard)");
    if (!model) {
        fprintf(stderr, "vkreel sfx: no audio model: pass --audio-model DIR (an AudioLDM directory in diffusers layout)\n");
        return VKR_E_NOINPUT;
    }
    struct stat st;
    if (stat(model, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "vkreel sfx: %s: audio model directory not found\n", model);
        return VKR_E_NOINPUT;
    }
    fprintf(stderr, "vkreel sfx: the AudioLDM pipeline is not part of this build yet\n");
    return VKR_E_INTERNAL;
}
