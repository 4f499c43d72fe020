/* Splitting reduction kernels over binding windows (see gpu/reduce_chunk.h). */
#include "gpu/reduce_chunk.h"
#include "gpu/gpu_internal.h"

#include "common/status.h"

#include <string.h>

typedef struct {
    vkr_gpu *gpu;
    const vkr_tensor *ops;
    const int64_t (*scale)[VKR_DIMS];
    int n_ops;
    vkr_chunk_fn fn;
    void *user;
} outer_job;

static int box_rec(const outer_job *job, const int64_t start[VKR_DIMS], const int64_t ne[VKR_DIMS])
{
    vkr_chunk c;
    memcpy(c.start, start, sizeof c.start);
    memcpy(c.ne, ne, sizeof c.ne);
    uint64_t align = job->gpu->info.min_storage_buffer_offset_alignment;
    int fits = 1;
    for (int i = 0; i < job->n_ops; i++) {
        vkr_tensor *v = &c.view[i];
        *v = job->ops[i];
        v->owner = 0;
        for (int d = 0; d < VKR_DIMS; d++) {
            int64_t s = job->scale[i][d];
            if (s <= 0 || job->ops[i].ne[d] == 1)
                continue;
            v->offset += (uint64_t)(start[d] * s * v->nb[d]) * vkr_dtype_size(v->dtype);
            v->ne[d] = ne[d] * s;
        }
        /* the binding starts at the offset rounded down to the alignment */
        fits &= vkr_tensor_span_bytes(v) + (align ? v->offset % align : 0) + 4 <= job->gpu->max_range;
    }
    if (fits)
        return job->fn(job->gpu, &c, job->user);
    for (int d = 0; d < VKR_DIMS; d++) {
        if (ne[d] < 2)
            continue;
        int64_t s2[VKR_DIMS], n1[VKR_DIMS], n2[VKR_DIMS];
        memcpy(s2, start, sizeof s2);
        memcpy(n1, ne, sizeof n1);
        memcpy(n2, ne, sizeof n2);
        n1[d] = (ne[d] + 1) / 2;
        n2[d] = ne[d] - n1[d];
        s2[d] += n1[d];
        int rc = box_rec(job, start, n1);
        return rc ? rc : box_rec(job, s2, n2);
    }
    return vkr_fail(VKR_E_DATA, "one reduction (the data of a single output row/group) exceeds the %llu-byte "
                    "binding window", (unsigned long long)job->gpu->max_range);
}

int vkr_for_each_outer_chunk(vkr_gpu *gpu, const int64_t ne[VKR_DIMS], const vkr_tensor *ops,
                             const int64_t (*scale)[VKR_DIMS], int n_ops, vkr_chunk_fn fn, void *user)
{
    if (n_ops < 1 || n_ops > VKR_MAX_BINDINGS)
        return vkr_fail(VKR_E_INTERNAL, "vkr_for_each_outer_chunk: %d operands", n_ops);
    for (int i = 0; i < n_ops; i++)
        for (int d = 0; d < VKR_DIMS; d++)
            if (scale[i][d] > 0 && ops[i].ne[d] != 1 && ops[i].ne[d] != ne[d] * scale[i][d])
                return vkr_fail(VKR_E_INTERNAL, "operand %d: extent %lld in dim %d, expected %lld (or 1)", i,
                                (long long)ops[i].ne[d], d, (long long)(ne[d] * scale[i][d]));
    int64_t start[VKR_DIMS] = {0};
    outer_job job = {gpu, ops, scale, n_ops, fn, user};
    return box_rec(&job, start, ne);
}

int vkr_vector_view(const char *op, const char *name, const vkr_tensor *t, int64_t len, int dim, vkr_tensor *out)
{
    int found = -1;
    for (int d = 0; d < VKR_DIMS; d++) {
        if (t->ne[d] == 1)
            continue;
        if (found >= 0 || t->ne[d] != len)
            found = -2;
        else
            found = d;
    }
    if (found == -2 || (found == -1 && len != 1))
        return vkr_fail(VKR_E_INTERNAL, "%s: %s is %lldx%lldx%lldx%lldx%lld, expected a vector of %lld", op, name,
                        (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                        (long long)t->ne[4], (long long)len);
    vkr_tensor v = *t;
    v.owner = 0;
    for (int d = 0; d < VKR_DIMS; d++)
        v.ne[d] = 1, v.nb[d] = 0;
    v.ne[dim] = len;
    v.nb[dim] = found >= 0 ? t->nb[found] : 1;
    *out = v;
    return VKR_OK;
}

uint32_t vkr_pow2_workgroup(int64_t n, int per_invocation, uint32_t lo, uint32_t hi)
{
    int64_t want = (n + per_invocation - 1) / per_invocation;
    uint32_t w = lo;
    while (w < hi && (int64_t)w < want)
        w *= 2;
    return w;
}
