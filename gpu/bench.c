/* The kernel benchmark runner (see gpu/bench.h). Lives in gpu/ because it
 * times recorded work with the context's command buffer and its own
 * timestamp query pool. */
#include "gpu/bench.h"
#include "gpu/gpu_internal.h"

#include "common/status.h"
#include "common/version.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Families: add a line per gpu/bench_<family>.c. */
const vkr_bench_family vkr_bench_families[] = {
    {"matmul", vkr_bench_cases_matmul, &vkr_bench_n_cases_matmul},
    {"norm", vkr_bench_cases_norm, &vkr_bench_n_cases_norm},
    {"conv", vkr_bench_cases_conv, &vkr_bench_n_cases_conv},
    {"attention", vkr_bench_cases_attention, &vkr_bench_n_cases_attention},
};
const size_t vkr_bench_n_families = sizeof vkr_bench_families / sizeof vkr_bench_families[0];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One run in its own submission; *ms from timestamps when pool != NULL. */
static int timed_run(vkr_gpu *gpu, const vkr_bench_case *c, void *state, VkQueryPool pool, double *ms)
{
    double t0 = now_ms();
    int rc = vkr_gpu_begin(gpu);
    if (rc)
        return rc;
    if (pool) {
        vkCmdResetQueryPool(gpu->cmd, pool, 0, 2);
        vkCmdWriteTimestamp(gpu->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool, 0);
    }
    if ((rc = c->run(gpu, state)))
        return rc;
    if (pool)
        vkCmdWriteTimestamp(gpu->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, 1);
    if ((rc = vkr_gpu_submit_and_wait(gpu)))
        return rc;
    *ms = now_ms() - t0;
    if (pool) {
        uint64_t t[2];
        VkResult r = vkGetQueryPoolResults(gpu->device, pool, 0, 2, sizeof t, t, sizeof t[0],
                                           VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        if ((rc = vkr_vk_check(gpu, r, "vkGetQueryPoolResults")))
            return rc;
        *ms = (double)(t[1] - t[0]) * gpu->info.timestamp_period_ns * 1e-6;
    }
    return VKR_OK;
}

int vkr_bench_run_case(vkr_gpu *gpu, const vkr_bench_case *c, const vkr_bench_config *cfg,
                       const vkr_bench_options *opt, vkr_bench_result *res)
{
    double min_ms = (opt->min_seconds > 0 ? opt->min_seconds : 1.0) * 1e3;
    int min_runs = opt->min_runs > 0 ? opt->min_runs : 3, max_runs = opt->max_runs > 0 ? opt->max_runs : 50;
    if (max_runs < min_runs)
        max_runs = min_runs;
    void *state = NULL;
    double *times = calloc((size_t)max_runs, sizeof *times);
    VkQueryPool pool = VK_NULL_HANDLE;
    int rc = times ? VKR_OK : vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    if (!rc && gpu->info.timestamps) {
        VkQueryPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                    .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2};
        rc = vkr_vk_check(gpu, vkCreateQueryPool(gpu->device, &ci, NULL, &pool), "vkCreateQueryPool");
    }
    if (rc || (rc = vkr_gpu_submit_and_wait(gpu)) || (rc = c->setup(gpu, cfg, &state)) ||
        (rc = vkr_gpu_submit_and_wait(gpu)))
        goto fail;
    double warm;
    if ((rc = timed_run(gpu, c, state, pool, &warm)))
        goto fail;
    int n = 0;
    double start = now_ms();
    while (n < min_runs || (n < max_runs && now_ms() - start < min_ms)) {
        if ((rc = timed_run(gpu, c, state, pool, &times[n])))
            goto fail;
        n++;
    }
    qsort(times, (size_t)n, sizeof *times, cmp_double);
    res->ms = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    res->runs = n;
    res->gpu_timed = pool != VK_NULL_HANDLE;
fail:
    if (c->teardown)
        c->teardown(gpu, state);
    if (pool) {
        vkr_gpu_submit_and_wait(gpu);
        vkDestroyQueryPool(gpu->device, pool, NULL);
    }
    free(times);
    return rc;
}

static int selected(const char *only, const char *op)
{
    if (!only || !*only)
        return 1;
    size_t n = strlen(op);
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, op, n))
            return 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

/* Every name in `only` must be a case. */
static int check_only(const char *only)
{
    if (!only)
        return VKR_OK;
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = len == 0;
        for (size_t f = 0; f < vkr_bench_n_families && !found; f++)
            for (size_t i = 0; i < *vkr_bench_families[f].n_cases && !found; i++) {
                const char *op = vkr_bench_families[f].cases[i].op;
                found = strlen(op) == len && !strncmp(op, p, len);
            }
        if (!found)
            return vkr_fail(VKR_E_USAGE, "--only: no benchmark named '%.*s' (see --list)", (int)len, p);
        p += len + (e ? 1 : 0);
    }
    return VKR_OK;
}

static double round_to(double v, double unit) { return round(v / unit) * unit; }

static const char *dtype_label(vkr_dtype t) { return t == VKR_F16 ? "f16" : t == VKR_BF16 ? "bf16" : "f32"; }

static int print_json_row(FILE *out, const char *op, const vkr_bench_info *info, vkr_dtype dt, const char *impl,
                          int threads, double ms)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    cJSON_AddStringToObject(o, "op", op);
    cJSON_AddStringToObject(o, "shape", info->shape);
    cJSON_AddStringToObject(o, "dtype", dtype_label(dt));
    cJSON_AddStringToObject(o, "impl", impl);
    if (threads > 0)
        cJSON_AddNumberToObject(o, "threads", threads);
    else
        cJSON_AddNullToObject(o, "threads");
    cJSON_AddNumberToObject(o, "ms", round_to(ms, 1e-3));
    if (info->flops > 0 && ms > 0)
        cJSON_AddNumberToObject(o, "gflops", round_to(info->flops / ms / 1e6, 1e-2));
    else
        cJSON_AddNullToObject(o, "gflops");
    if (info->bytes > 0 && ms > 0)
        cJSON_AddNumberToObject(o, "gbps", round_to(info->bytes / ms / 1e6, 1e-2));
    else
        cJSON_AddNullToObject(o, "gbps");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    fprintf(out, "%s\n", s);
    fflush(out);
    free(s);
    return VKR_OK;
}

int vkr_bench_kernels(vkr_gpu *gpu, const vkr_bench_options *opt, FILE *out)
{
    int rc = check_only(opt->only);
    if (rc)
        return rc;
    vkr_bench_config cfg = {.quick = opt->quick, .dtype = opt->dtype};
    if (opt->list) {
        fprintf(out, "%-22s %-8s %-32s %10s\n", "op", "family", "shape", "GFLOP");
        for (size_t f = 0; f < vkr_bench_n_families; f++)
            for (size_t i = 0; i < *vkr_bench_families[f].n_cases; i++) {
                const vkr_bench_case *c = &vkr_bench_families[f].cases[i];
                vkr_bench_info info = {0};
                c->describe(&cfg, &info);
                if (selected(opt->only, c->op))
                    fprintf(out, "%-22s %-8s %-32s %10.2f\n", c->op, vkr_bench_families[f].family, info.shape,
                            info.flops * 1e-9);
            }
        return VKR_OK;
    }
    if (!gpu)
        return vkr_fail(VKR_E_INTERNAL, "vkr_bench_kernels: no GPU context");
    const vkr_device_info *dev = vkr_gpu_device(gpu);
    char impl[320];
    snprintf(impl, sizeof impl, "vkreel-%s-%s", VKR_VERSION, dev->name);
    int threads = 0;
    if (dev->type == VK_PHYSICAL_DEVICE_TYPE_CPU) { /* lavapipe: its worker threads */
        const char *lp = getenv("LP_NUM_THREADS");
        threads = lp && *lp ? atoi(lp) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    }
    if (!opt->json)
        fprintf(out, "%s\n%-22s %-30s %-5s %10s %9s %9s %5s %s\n", impl, "op", "shape", "dtype", "ms", "GFLOP/s",
                "GB/s", "runs", "timing");
    for (size_t f = 0; f < vkr_bench_n_families; f++)
        for (size_t i = 0; i < *vkr_bench_families[f].n_cases; i++) {
            const vkr_bench_case *c = &vkr_bench_families[f].cases[i];
            if (!selected(opt->only, c->op))
                continue;
            vkr_bench_info info = {0};
            c->describe(&cfg, &info);
            vkr_bench_result r = {0};
            if ((rc = vkr_bench_run_case(gpu, c, &cfg, opt, &r)))
                return vkr_fail_context(rc, "bench %s (%s)", c->op, info.shape);
            if (opt->json) {
                if ((rc = print_json_row(out, c->op, &info, cfg.dtype, impl, threads, r.ms)))
                    return rc;
                continue;
            }
            fprintf(out, "%-22s %-30s %-5s %10.3f", c->op, info.shape, dtype_label(cfg.dtype), r.ms);
            if (info.flops > 0)
                fprintf(out, " %9.2f", info.flops / r.ms / 1e6);
            else
                fprintf(out, " %9s", "-");
            if (info.bytes > 0)
                fprintf(out, " %9.2f", info.bytes / r.ms / 1e6);
            else
                fprintf(out, " %9s", "-");
            fprintf(out, " %5d %s\n", r.runs, r.gpu_timed ? "gpu" : "host");
            fflush(out);
        }
    return VKR_OK;
}

int vkr_bench_fill_uniform(vkr_gpu *gpu, const vkr_tensor *t, uint64_t seed, float lo, float hi)
{
    int64_t n = vkr_tensor_nelem(t);
    float *h = malloc((size_t)n * sizeof *h);
    if (!h)
        return vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
    for (int64_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        h[i] = lo + (hi - lo) * (float)((seed >> 40) * (1.0 / 16777216.0));
    }
    int rc = vkr_tensor_upload(gpu, t, h, VKR_F32);
    if (!rc)
        rc = vkr_gpu_submit_and_wait(gpu); /* the staging ring holds h's data only until then */
    free(h);
    return rc;
}
