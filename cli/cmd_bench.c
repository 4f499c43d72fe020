/* vkreel bench kernels: times the Vulkan kernels at the real-model shapes
 * (gpu/bench.h), in the JSON-lines schema of tools/bench_torch.py. */
#include "commands.h"

#include "common/status.h"
#include "gpu/bench.h"
#include "gpu/ops_matmul.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: vkreel bench kernels [--json] [--quick] [--only a,b] [--dtype f32|f16]\n"
           "                            [--device SPEC] [--min-time S] [--runs N] [--list]\n\n"
           "Times each kernel at the real-model shapes (Zeroscope 576x320, 24 frames): warm-up,\n"
           "then repeats until at least S seconds (default 1) and 3 runs, at most N runs\n"
           "(default 50), and reports the median time of one run, from GPU timestamps when the\n"
           "device has them (else the host clock around submit + wait).\n\n"
           "Options:\n"
           "  --json         one JSON object per line, the schema of tools/bench_torch.py:\n"
           "                 op, shape, dtype, impl, threads, ms, gflops, gbps\n"
           "  --quick        frame/batch dims divided by 4 (as bench_torch.py --quick)\n"
           "  --only a,b     only these ops (names as in --list)\n"
           "  --dtype T      storage of activations and weights: f32 (default) or f16\n"
           "  --device SPEC  Vulkan device: index, UUID or name substring\n"
           "  --min-time S   keep repeating until S seconds have passed (default 1)\n"
           "  --runs N       at most N timed runs (default 50; at least min(3, N))\n"
           "  --list         print the cases and their shapes, run nothing\n\n"
           "Environment: VKREEL_MATMUL=tiled|skinny|coopmat and VKREEL_MATMUL_TILE=BMxBNxBKxTMxTN\n"
           "force a matmul variant / tile (tuning). Compare with PyTorch:\n"
           "  vkreel bench kernels --json --quick > vk.jsonl\n"
           "  /usr/bin/python3 tools/bench_torch.py --quick > torch.jsonl\n"
           "  tools/bench_compare.py torch.jsonl vk.jsonl\n\n"
           "Exit status: 0 ok, 64 usage, 75 no device / out of memory.\n");
}

int cmd_bench(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || (argc >= 2 && !strcmp(argv[1], "help"))) {
        usage();
        return VKR_OK;
    }
    if (argc < 2 || strcmp(argv[1], "kernels") != 0)
        return cli_usage("bench", "expected 'kernels'%s%s", argc >= 2 ? ", got " : "", argc >= 2 ? argv[1] : "");
    vkr_bench_options opt = {.dtype = VKR_F32};
    const char *device = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (!strcmp(a, "--json")) {
            opt.json = 1;
            continue;
        }
        if (!strcmp(a, "--quick")) {
            opt.quick = 1;
            continue;
        }
        if (!strcmp(a, "--list")) {
            opt.list = 1;
            continue;
        }
        static const char *const with_value[] = {"--only", "--dtype", "--device", "--min-time", "--runs"};
        int k = -1;
        for (int j = 0; j < 5 && k < 0; j++) {
            size_t n = strlen(with_value[j]);
            if (!strncmp(a, with_value[j], n) && (a[n] == '=' || a[n] == 0)) {
                k = j;
                val = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
            }
        }
        if (k < 0)
            return cli_usage("bench", "unexpected argument '%s'", a);
        if (!val)
            return cli_usage("bench", "%s needs a value", with_value[k]);
        char *end;
        switch (k) {
        case 0: opt.only = val; break;
        case 1:
            if (!strcmp(val, "f32"))
                opt.dtype = VKR_F32;
            else if (!strcmp(val, "f16"))
                opt.dtype = VKR_F16;
            else
                return cli_usage("bench", "--dtype: expected f32 or f16, got '%s'", val);
            break;
        case 2: device = val; break;
        case 3:
            opt.min_seconds = strtod(val, &end);
            if (*end || opt.min_seconds < 0)
                return cli_usage("bench", "--min-time: expected seconds, got '%s'", val);
            break;
        default:
            opt.max_runs = (int)strtol(val, &end, 10);
            if (*end || opt.max_runs < 1)
                return cli_usage("bench", "--runs: expected a positive count, got '%s'", val);
            opt.min_runs = opt.max_runs < 3 ? opt.max_runs : 3;
            break;
        }
    }
    vkr_gpu *gpu = NULL;
    int rc;
    if (!opt.list && (rc = vkr_gpu_create(&(vkr_gpu_options){.device = device}, &gpu)))
        return cli_error(rc, "bench");
    rc = vkr_bench_kernels(gpu, &opt, stdout);
    vkr_gpu_destroy(gpu);
    return rc ? cli_error(rc, "bench") : VKR_OK;
}
