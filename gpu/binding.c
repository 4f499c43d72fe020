/* Binding tensors to storage-buffer windows, and splitting work whose tensors
 * do not fit one window (maxStorageBufferRange: 128 MiB on lavapipe and some
 * mobile GPUs, 4 GiB on NVIDIA/AMD desktop drivers). */
#include "gpu/gpu_internal.h"

#include "common/status.h"

#include <string.h>

int vkr_storage_index(const vkr_gpu *gpu, vkr_dtype t, int *index)
{
    *index = -1;
    switch (t) {
    case VKR_F32:
        *index = 0;
        return VKR_OK;
    case VKR_F16:
        if (!gpu->info.storage_16bit)
            break;
        *index = 1;
        return VKR_OK;
    case VKR_BF16:
        if (!gpu->info.storage_16bit || !gpu->info.shader_int16)
            break;
        *index = 2;
        return VKR_OK;
    default:
        return vkr_fail(VKR_E_INTERNAL, "no kernel storage for %s", vkr_dtype_name(t));
    }
    return vkr_fail(VKR_E_TEMPFAIL, "%s has no 16-bit storage (or shaderInt16) for %s tensors", gpu->info.name,
                    vkr_dtype_name(t));
}

uint64_t vkr_gpu_max_range(const vkr_gpu *gpu) { return gpu->max_range; }

void vkr_ne_u32(const vkr_tensor *t, uint32_t ne[VKR_DIMS])
{
    for (int d = 0; d < VKR_DIMS; d++)
        ne[d] = (uint32_t)t->ne[d];
}

void vkr_nb_u32(const vkr_tensor *t, uint32_t nb[VKR_DIMS])
{
    for (int d = 0; d < VKR_DIMS; d++)
        nb[d] = t->ne[d] == 1 ? 0 : (uint32_t)t->nb[d];
}

int vkr_check_shape(const char *op, const char *name, const vkr_tensor *t, const int64_t ne[VKR_DIMS])
{
    for (int d = 0; d < VKR_DIMS; d++)
        if (ne[d] >= 0 && t->ne[d] != ne[d])
            return vkr_fail(VKR_E_INTERNAL, "%s: %s is %lldx%lldx%lldx%lldx%lld %s, expected %lldx%lldx%lldx%lldx%lld "
                            "(-1 = any)", op, name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                            (long long)t->ne[3], (long long)t->ne[4], vkr_dtype_name(t->dtype), (long long)ne[0],
                            (long long)ne[1], (long long)ne[2], (long long)ne[3], (long long)ne[4]);
    return VKR_OK;
}

int vkr_check_dtype(const char *op, const char *name, const vkr_tensor *t, vkr_dtype dtype)
{
    if (t->dtype != dtype)
        return vkr_fail(VKR_E_INTERNAL, "%s: %s is %s, expected %s", op, name, vkr_dtype_name(t->dtype),
                        vkr_dtype_name(dtype));
    return VKR_OK;
}

/* Window [*woff, *woff + *range) that covers t, starting at an aligned offset. */
static void window(const vkr_gpu *gpu, const vkr_tensor *t, uint64_t *woff, uint64_t *range)
{
    uint64_t a = gpu->info.min_storage_buffer_offset_alignment ? gpu->info.min_storage_buffer_offset_alignment : 1;
    *woff = t->offset / a * a;
    uint64_t r = t->offset - *woff + vkr_tensor_span_bytes(t);
    r = (r + 3) & ~(uint64_t)3; /* whole 32-bit words; stays inside the 256-aligned allocation */
    if (t->block && *woff + r > t->block->size)
        r = t->block->size - *woff;
    *range = r;
}

int vkr_bind_tensor(vkr_gpu *gpu, const vkr_tensor *t, int write, vkr_binding *b, uint32_t *elem_offset)
{
    if (!t->block)
        return vkr_fail(VKR_E_INTERNAL, "binding a tensor with no memory");
    for (int d = 0; d < VKR_DIMS; d++)
        if (t->ne[d] < 1 || t->nb[d] < 0)
            return vkr_fail(VKR_E_INTERNAL, "binding a tensor with ne[%d]=%lld nb=%lld", d, (long long)t->ne[d],
                            (long long)t->nb[d]);
    uint64_t woff, range;
    window(gpu, t, &woff, &range);
    if (range > gpu->max_range)
        return vkr_fail(VKR_E_INTERNAL, "tensor window of %llu bytes exceeds the binding limit (%llu): split the op",
                        (unsigned long long)range, (unsigned long long)gpu->max_range);
    *b = (vkr_binding){.block = t->block, .offset = woff, .range = range, .write = write};
    if (elem_offset)
        *elem_offset = (uint32_t)((t->offset - woff) / vkr_dtype_size(t->dtype));
    return VKR_OK;
}

void vkr_chunk_collapse(vkr_chunk *c, int n_ops)
{
    for (int d = VKR_DIMS - 2; d >= 0; d--) {
        int ok = 1, inner_unit = c->ne[d + 1] == 1;
        for (int i = 0; i < n_ops && ok; i++)
            ok = c->view[i].nb[d] == c->view[i].nb[d + 1] * c->ne[d + 1] || c->ne[d] == 1 || inner_unit;
        if (!ok)
            continue;
        /* fold dim d into d + 1, then shift the outer dims right by one */
        for (int i = 0; i < n_ops; i++) {
            vkr_tensor *v = &c->view[i];
            if (inner_unit)
                v->nb[d + 1] = v->nb[d];
            v->ne[d + 1] *= v->ne[d];
            for (int k = d; k > 0; k--)
                v->ne[k] = v->ne[k - 1], v->nb[k] = v->nb[k - 1];
            v->ne[0] = 1, v->nb[0] = 0;
        }
        c->ne[d + 1] *= c->ne[d];
        for (int k = d; k > 0; k--)
            c->ne[k] = c->ne[k - 1];
        c->ne[0] = 1;
    }
}

typedef struct {
    vkr_gpu *gpu;
    const vkr_tensor *ops;
    int n_ops;
    vkr_chunk_fn fn;
    void *user;
} chunk_job;

static int chunk_rec(const chunk_job *job, const int64_t start[VKR_DIMS], const int64_t ne[VKR_DIMS])
{
    vkr_chunk c;
    memcpy(c.start, start, sizeof c.start);
    memcpy(c.ne, ne, sizeof c.ne);
    uint64_t n = 1;
    for (int d = 0; d < VKR_DIMS; d++)
        n *= (uint64_t)ne[d];
    int fits = n < (1ull << 31);
    for (int i = 0; i < job->n_ops; i++) {
        const vkr_tensor *t = &job->ops[i];
        vkr_tensor *v = &c.view[i];
        *v = *t;
        v->owner = 0;
        for (int d = 0; d < VKR_DIMS; d++) {
            if (t->ne[d] == 1) { /* broadcast (or a unit dim): same element everywhere */
                v->nb[d] = 0;
            } else {
                v->offset += (uint64_t)(start[d] * t->nb[d]) * vkr_dtype_size(t->dtype);
            }
            v->ne[d] = ne[d];
        }
        uint64_t woff, range;
        window(job->gpu, v, &woff, &range);
        fits &= range <= job->gpu->max_range;
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
        int rc = chunk_rec(job, start, n1);
        return rc ? rc : chunk_rec(job, s2, n2);
    }
    return vkr_fail(VKR_E_INTERNAL, "a single element does not fit a binding");
}

int vkr_for_each_chunk(vkr_gpu *gpu, const int64_t ne[VKR_DIMS], const vkr_tensor *ops, int n_ops, vkr_chunk_fn fn,
                       void *user)
{
    if (n_ops < 1 || n_ops > VKR_MAX_BINDINGS)
        return vkr_fail(VKR_E_INTERNAL, "vkr_for_each_chunk: %d operands", n_ops);
    for (int i = 0; i < n_ops; i++)
        for (int d = 0; d < VKR_DIMS; d++)
            if (ops[i].ne[d] != ne[d] && ops[i].ne[d] != 1)
                return vkr_fail(VKR_E_INTERNAL, "operand %d: extent %lld in dim %d, op extent %lld", i,
                                (long long)ops[i].ne[d], d, (long long)ne[d]);
    int64_t start[VKR_DIMS] = {0};
    chunk_job job = {gpu, ops, n_ops, fn, user};
    return chunk_rec(&job, start, ne);
}
