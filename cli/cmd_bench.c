/* vkreel bench kernels: times the Vulkan kernels at the real-model shapes
 * (gpu/bench.h), in the JSON-lines schema of tools/bench_torch.py.
 * vkreel bench model: loads a whole model directory and runs each stage once
 * (pipeline/bench_models.h), with per-stage time and memory. */
#include "commands.h"

#include "common/status.h"
#include "gpu/bench.h"
#include "gpu/ops_matmul.h"
#include "pipeline/bench_models.h"

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
           "Exit status: 0 ok, 64 usage, 75 no device / out of memory.\n\n"
           "Whole models: vkreel bench model (--video-model DIR | --audio-model DIR) ...\n"
           "(vkreel bench model --help).\n");
}


static void model_usage(void)
{
    printf("Usage: vkreel bench model (--video-model DIR | --audio-model DIR) [--size WxH] [--frames N]\n"
           "                          [--audio-frames N] [--batch N] [--steps N] [--dtype f16|f32]\n"
           "                          [--act-dtype f32|f16] [--vae-chunk N] [--vae-tile N] [--vae-budget MIB]\n"
           "                          [--skip-text] [--skip-vae] [--dry-run] [--dry-run-limit MIB]\n"
           "                          [--dry-run-heap MIB] [--dump-unet FILE] [--torch]\n"
           "                          [--json] [--device SPEC]\n\n"
           "Loads a diffusers model directory (real configs; real or random weights, see\n"
           "tools/make_random_model.py) and runs each stage once: the text encoder on the two\n"
           "classifier-free-guidance rows, the UNet (--steps forwards of --batch rows, default 1 x 2),\n"
           "the VAE decode of one clip and, for audio, the HiFi-GAN vocoder. Per stage it prints the\n"
           "wall seconds, the weight bytes a load made resident, and the device memory peak\n"
           "(tensors in use, the stage's own activations on top of what was resident, and the\n"
           "VkDeviceMemory high-water mark).\n\n"
           "Options:\n"
           "  --video-model DIR  TextToVideoSDPipeline folder (ModelScope ms-1.7b, Zeroscope)\n"
           "  --audio-model DIR  AudioLDMPipeline folder (AudioLDM s/m/l)\n"
           "  --size WxH         video pixels (default 64x64)      --frames N   video frames (default 4)\n"
           "  --audio-frames N   mel frames for the audio VAE / vocoder (default 64 = 0.64 s)\n"
           "  --batch N          UNet rows (default 2)              --steps N    UNet forwards (default 1)\n"
           "  --dtype T          weight storage: f16 (default) or f32\n"
           "  --act-dtype T      UNet activations: f32 (default, as the pipelines run) or f16\n"
           "  --vae-chunk N      decode N frames at a time          --vae-tile N  tiled decode, latent tile N\n"
           "  --vae-budget MIB   decode chunk chosen to fit MIB of activations\n"
           "  --skip-text, --skip-vae   leave a component out\n"
           "  --dry-run          allocate exactly as a real run but compute nothing (VKREEL_DRY_RUN=1):\n"
           "                     exact memory peaks at sizes too slow to run; times are meaningless\n"
           "  --dry-run-limit MIB  dry run planning for a device with this maxMemoryAllocationSize and\n"
           "                     maxStorageBufferRange (lavapipe has 2048 / 128; discrete GPUs ~4096)\n"
           "  --dry-run-heap MIB  dry run as on a GPU with MIB of device memory: fails (exit 75) when\n"
           "                     the work does not fit, after the allocator's own recovery\n"
           "  --torch            also time the same UNet forward (3-D or AudioLDM 2-D) with PyTorch on the CPU\n"
           "                     (tools/bench_torch_model.py; $VKREEL_PYTHON, default /usr/bin/python3;\n"
           "                     $VKREEL_TOOLS, default ./tools)\n"
           "  --dump-unet FILE   video: save the UNet's inputs and output as safetensors; check them with\n"
           "                     tools/bench_torch_model.py DIR --check FILE (PyTorch reference)\n"
           "  --json             one JSON object per stage\n\n"
           "Exit status: 0 ok, 64 usage, 65 bad checkpoint (names the tensor), 66 missing files,\n"
           "75 no device / out of device memory.\n");
}

static double mib(uint64_t b) { return (double)b / 1048576.0; }

static int parse_dtype(const char *val, vkr_dtype *out)
{
    if (!strcmp(val, "f32"))
        *out = VKR_F32;
    else if (!strcmp(val, "f16"))
        *out = VKR_F16;
    else
        return 0;
    return 1;
}

/* Runs the PyTorch reference of the UNet forward; *seconds < 0 when it did not run. */
static void torch_unet(const char *dir, const vkr_bench_model_opts *o, double *seconds, int *threads)
{
    *seconds = -1;
    *threads = 0;
    const char *py = getenv("VKREEL_PYTHON"), *tools = getenv("VKREEL_TOOLS");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' '%s/bench_torch_model.py' '%s' --size %dx%d --frames %d --audio-frames %d --batch %d --steps %d "
             "--json",
             py && *py ? py : "/usr/bin/python3", tools && *tools ? tools : "tools", dir, o->width, o->height,
             o->frames, o->audio_frames, o->batch, o->steps > 0 ? o->steps : 1);
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    char line[1024];
    while (fgets(line, sizeof line, p)) {
        const char *s = strstr(line, "\"seconds\":"), *t = strstr(line, "\"threads\":");
        if (s && strstr(line, "\"stage\": \"unet\""))
            *seconds = strtod(s + 10, NULL);
        if (t)
            *threads = (int)strtol(t + 10, NULL, 10);
    }
    if (pclose(p) != 0)
        *seconds = -1;
}

static int cmd_bench_model(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        model_usage();
        return VKR_OK;
    }
    vkr_bench_model_opts o = {.width = 64, .height = 64, .frames = 4, .audio_frames = 64, .batch = 2, .steps = 1,
                              .weights = VKR_F16, .activations = VKR_F32};
    const char *video = NULL, *audio = NULL, *device = NULL;
    int json = 0, dry = 0, torch = 0;
    unsigned long long dry_limit = 0, dry_heap = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(a, "--dry-run")) {
            dry = 1;
            continue;
        }
        if (!strcmp(a, "--torch")) {
            torch = 1;
            continue;
        }
        if (!strcmp(a, "--skip-text")) {
            o.skip_text = 1;
            continue;
        }
        if (!strcmp(a, "--skip-vae")) {
            o.skip_vae = 1;
            continue;
        }
        static const char *const with_value[] = {"--video-model", "--audio-model", "--size", "--frames",
                                                 "--audio-frames", "--batch", "--steps", "--dtype",
                                                 "--act-dtype", "--vae-chunk", "--vae-tile", "--vae-budget",
                                                 "--device", "--dry-run-limit", "--dry-run-heap", "--dump-unet"};
        const int n_with = (int)(sizeof with_value / sizeof *with_value);
        int k = -1;
        const char *val = NULL;
        for (int j = 0; j < n_with && k < 0; j++) {
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
        char *end = NULL;
        long v = 0;
        if (k >= 3 && k <= 6)
            v = strtol(val, &end, 10);
        else if (k >= 9 && k <= 11)
            v = strtol(val, &end, 10);
        if (((k >= 3 && k <= 6) || (k >= 9 && k <= 11)) && (*end || v < 1 || v > 1 << 20))
            return cli_usage("bench", "%s: expected a positive count, got '%s'", with_value[k], val);
        switch (k) {
        case 0: video = val; break;
        case 1: audio = val; break;
        case 2:
            if (sscanf(val, "%dx%d", &o.width, &o.height) != 2 || o.width < 1 || o.height < 1)
                return cli_usage("bench", "--size: expected WxH, got '%s'", val);
            break;
        case 3: o.frames = (int)v; break;
        case 4: o.audio_frames = (int)v; break;
        case 5: o.batch = (int)v; break;
        case 6: o.steps = (int)v; break;
        case 7:
            if (!parse_dtype(val, &o.weights))
                return cli_usage("bench", "--dtype: expected f16 or f32, got '%s'", val);
            break;
        case 8:
            if (!parse_dtype(val, &o.activations))
                return cli_usage("bench", "--act-dtype: expected f32 or f16, got '%s'", val);
            break;
        case 9: o.vae.frames_per_chunk = (int)v; break;
        case 10: o.vae.tile_latent = (int)v; break;
        case 11: o.vae.memory_budget = (uint64_t)v << 20; break;
        case 12: device = val; break;
        case 15: o.dump_unet = val; break;
        case 14:
            dry_heap = strtoull(val, &end, 10);
            if (*end || !dry_heap || dry_heap > (1ull << 30))
                return cli_usage("bench", "--dry-run-heap: expected MiB, got '%s'", val);
            dry_heap <<= 20;
            dry = 1;
            break;
        default:
            dry_limit = strtoull(val, &end, 10);
            if (*end || !dry_limit || dry_limit > (1ull << 30))
                return cli_usage("bench", "--dry-run-limit: expected MiB, got '%s'", val);
            dry_limit <<= 20;
            dry = 1;
            break;
        }
    }
    if (!video == !audio)
        return cli_usage("bench", "model: give exactly one of --video-model DIR or --audio-model DIR");
    const char *dir = video ? video : audio;
    vkr_gpu *gpu = NULL;
    int rc = vkr_gpu_create(&(vkr_gpu_options){.device = device, .dry_run = dry ? 1 : 0, .dry_run_limit = dry_limit,
                                                .dry_run_heap = dry_heap},
                            &gpu);
    if (rc)
        return cli_error(rc, "bench");
    const char *devname = vkr_gpu_device(gpu)->name;
    dry = vkr_gpu_is_dry_run(gpu);
    vkr_bench_model_result r;
    /* A failing stage (e.g. a tensor over maxMemoryAllocationSize) still
     * leaves the stages before it in r: print them, then the error. */
    int bench_rc = video ? vkr_bench_video_model(gpu, dir, &o, &r) : vkr_bench_audio_model(gpu, dir, &o, &r);
    double torch_s = -1;
    int torch_threads = 0;
    if (torch && !bench_rc)
        torch_unet(dir, &o, &torch_s, &torch_threads);
    if (json) {
        for (int i = 0; i < r.n_stages; i++) {
            const vkr_bench_stage *s = &r.stage[i];
            printf("{\"model\": \"%s\", \"stage\": \"%s\", \"what\": \"%s\", \"device\": \"%s\", \"dry_run\": %s, "
                   "\"seconds\": %.3f, \"weights_bytes\": %llu, \"tensors_peak\": %llu, \"activation_peak\": %llu, "
                   "\"device_alloc_peak\": %llu}\n",
                   dir, s->name, s->shape, devname, dry ? "true" : "false", s->seconds,
                   (unsigned long long)s->weights_bytes, (unsigned long long)s->tensors_peak,
                   (unsigned long long)s->activation_peak, (unsigned long long)s->device_alloc_peak);
        }
        if (torch_s >= 0)
            printf("{\"model\": \"%s\", \"stage\": \"unet\", \"impl\": \"torch-cpu\", \"threads\": %d, "
                   "\"seconds\": %.3f}\n", dir, torch_threads, torch_s);
    } else {
        printf("vkreel bench model: %s\ndevice: %s%s\n\n", dir, devname,
               dry ? "  (DRY RUN: memory exact, times meaningless)" : "");
        printf("%-18s %-44s %9s %11s %11s %11s %11s\n", "stage", "what", "seconds", "weights MiB", "peak MiB",
               "act. MiB", "device MiB");
        for (int i = 0; i < r.n_stages; i++) {
            const vkr_bench_stage *s = &r.stage[i];
            if (s->weights_bytes) /* a load: its "activations" are the weights themselves */
                printf("%-18s %-44s %9.3f %11.1f %11.1f %11s %11.1f\n", s->name, s->shape, s->seconds,
                       mib(s->weights_bytes), mib(s->tensors_peak), "-", mib(s->device_alloc_peak));
            else
                printf("%-18s %-44s %9.3f %11s %11.1f %11.1f %11.1f\n", s->name, s->shape, s->seconds, "-",
                       mib(s->tensors_peak), mib(s->activation_peak), mib(s->device_alloc_peak));
        }
        printf("\nresident weights %.1f MiB; peak tensors in use %.1f MiB; peak device memory %.1f MiB\n",
               mib(r.weights_total), mib(r.tensors_peak), mib(r.device_alloc_peak));
        if (torch) {
            if (torch_s >= 0) {
                double vk = 0;
                for (int i = 0; i < r.n_stages; i++)
                    if (!strcmp(r.stage[i].name, "unet"))
                        vk = r.stage[i].seconds;
                printf("PyTorch CPU (%d threads) unet: %.3f s per step; vkreel/torch speed ratio %.3fx\n",
                       torch_threads, torch_s, vk > 0 ? torch_s / vk : 0);
            } else {
                printf("PyTorch reference: not run (tools/bench_torch_model.py failed)\n");
            }
        }
    }
    vkr_gpu_destroy(gpu);
    return bench_rc ? cli_error(bench_rc, "bench") : VKR_OK;
}

int cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "model"))
        return cmd_bench_model(argc, argv);
    if (cli_wants_help(argc, argv) || (argc >= 2 && !strcmp(argv[1], "help"))) {
        usage();
        return VKR_OK;
    }
    if (argc < 2 || strcmp(argv[1], "kernels") != 0)
        return cli_usage("bench", "expected 'kernels' or 'model'%s%s", argc >= 2 ? ", got " : "",
                         argc >= 2 ? argv[1] : "");
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
