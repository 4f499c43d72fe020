/* VKREEL_PROFILE=1: a timestamp pair around every recorded op (dispatch or
 * copy), accumulated per op name; vkr_gpu_destroy() prints the table to stderr.
 * Rates come from the flop/byte counts each op declares to vkr_dispatch().
 * The recorder puts a barrier between ops while profiling, so each interval
 * covers one op alone (and the total is slower than an unprofiled run). */
#include "gpu/gpu_internal.h"

#include "common/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_QUERIES 8192 /* per command buffer; ops beyond are counted but untimed (mean uses timed calls) */

int vkr_prof_init(vkr_gpu *gpu)
{
    if (!gpu->profile)
        return VKR_OK;
    if (!gpu->info.timestamps) {
        fprintf(stderr, "vkreel: warning: VKREEL_PROFILE: %s has no compute timestamps\n", gpu->info.name);
        return VKR_OK;
    }
    VkQueryPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = MAX_QUERIES};
    int rc = vkr_vk_check(gpu, vkCreateQueryPool(gpu->device, &ci, NULL, &gpu->query_pool), "vkCreateQueryPool");
    if (rc)
        return rc;
    gpu->max_queries = MAX_QUERIES;
    gpu->pending = calloc(MAX_QUERIES / 2, sizeof *gpu->pending);
    return gpu->pending ? VKR_OK : vkr_fail(VKR_E_TEMPFAIL, "out of host memory");
}

void vkr_prof_destroy(vkr_gpu *gpu)
{
    if (gpu->query_pool)
        vkDestroyQueryPool(gpu->device, gpu->query_pool, NULL);
    free(gpu->pending);
    free(gpu->rows);
}

void vkr_prof_reset_pool(vkr_gpu *gpu)
{
    gpu->n_queries = 0;
    if (gpu->query_pool)
        vkCmdResetQueryPool(gpu->cmd, gpu->query_pool, 0, gpu->max_queries);
}

static int find_row(vkr_gpu *gpu, const char *name)
{
    for (uint32_t i = 0; i < gpu->n_rows; i++)
        if (gpu->rows[i].name == name || strcmp(gpu->rows[i].name, name) == 0)
            return (int)i;
    if (gpu->n_rows == gpu->cap_rows) {
        uint32_t cap = gpu->cap_rows ? 2 * gpu->cap_rows : 32;
        vkr_prof_row *r = realloc(gpu->rows, cap * sizeof *r);
        if (!r)
            return -1;
        gpu->rows = r;
        gpu->cap_rows = cap;
    }
    gpu->rows[gpu->n_rows] = (vkr_prof_row){.name = name};
    return (int)gpu->n_rows++;
}

int vkr_prof_begin(vkr_gpu *gpu, const char *name, double flops, double bytes)
{
    if (!gpu->profile)
        return -1;
    int row = find_row(gpu, name ? name : "?");
    if (row < 0)
        return -1;
    gpu->rows[row].calls++;
    if (!gpu->query_pool || gpu->n_queries + 2 > gpu->max_queries)
        return -1;
    gpu->rows[row].timed++;
    gpu->rows[row].flops += flops;
    gpu->rows[row].bytes += bytes;
    uint32_t q = gpu->n_queries;
    gpu->n_queries += 2;
    gpu->pending[q / 2].row = row;
    vkCmdWriteTimestamp(gpu->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, gpu->query_pool, q);
    return (int)q;
}

void vkr_prof_end(vkr_gpu *gpu, int slot)
{
    if (slot >= 0)
        vkCmdWriteTimestamp(gpu->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, gpu->query_pool, (uint32_t)slot + 1);
}

void vkr_prof_collect(vkr_gpu *gpu)
{
    if (!gpu->query_pool || !gpu->n_queries)
        return;
    uint64_t *t = malloc(gpu->n_queries * sizeof *t);
    if (t && vkGetQueryPoolResults(gpu->device, gpu->query_pool, 0, gpu->n_queries, gpu->n_queries * sizeof *t, t,
                                   sizeof *t, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS) {
        for (uint32_t q = 0; q + 1 < gpu->n_queries; q += 2) {
            double dt = t[q + 1] >= t[q] ? (double)(t[q + 1] - t[q]) : 0.0;
            gpu->rows[gpu->pending[q / 2].row].total_ns += dt * gpu->info.timestamp_period_ns;
        }
    }
    free(t);
    gpu->n_queries = 0;
}

static int by_total(const void *a, const void *b)
{
    double x = ((const vkr_prof_row *)a)->total_ns, y = ((const vkr_prof_row *)b)->total_ns;
    return x < y ? 1 : x > y ? -1 : 0;
}

void vkr_prof_print(vkr_gpu *gpu)
{
    if (!gpu->n_rows)
        return;
    qsort(gpu->rows, gpu->n_rows, sizeof *gpu->rows, by_total);
    double all = 0;
    for (uint32_t i = 0; i < gpu->n_rows; i++)
        all += gpu->rows[i].total_ns;
    fprintf(stderr, "vkreel profile (%s): %llu dispatches, %llu barriers\n", gpu->info.name,
            (unsigned long long)gpu->n_dispatches, (unsigned long long)gpu->n_barriers);
    fprintf(stderr, "%-24s %8s %11s %10s %6s %9s %9s\n", "op", "calls", "total ms", "mean ms", "%", "GFLOP/s",
            "GB/s");
    for (uint32_t i = 0; i < gpu->n_rows; i++) {
        const vkr_prof_row *r = &gpu->rows[i];
        double ms = r->total_ns * 1e-6, s = r->total_ns * 1e-9;
        fprintf(stderr, "%-24s %8llu %11.3f %10.4f %6.1f", r->name, (unsigned long long)r->calls, ms,
                r->timed ? ms / (double)r->timed : 0.0, all > 0 ? 100.0 * r->total_ns / all : 0.0);
        if (s > 0 && r->flops > 0)
            fprintf(stderr, " %9.2f", r->flops / s * 1e-9);
        else
            fprintf(stderr, " %9s", "-");
        if (s > 0 && r->bytes > 0)
            fprintf(stderr, " %9.2f\n", r->bytes / s * 1e-9);
        else
            fprintf(stderr, " %9s\n", "-");
    }
    fprintf(stderr, "%-24s %8s %11.3f\n", "total", "", all * 1e-6);
    fprintf(stderr, "device memory: peak %.1f MiB allocated in blocks, peak %.1f MiB in tensors, staging %.1f MiB\n",
            (double)gpu->allocated_peak / 1048576.0, (double)gpu->in_use_peak / 1048576.0,
            (double)gpu->staging_size / 1048576.0);
}
