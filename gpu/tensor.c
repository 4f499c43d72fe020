/* Tensor views and host <-> device transfers (allocation is in memory.c). */
#include "gpu/ops_eltwise.h"
#include "gpu/gpu_internal.h"

#include "common/status.h"

#include <string.h>

int64_t vkr_tensor_nelem(const vkr_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < VKR_DIMS; d++)
        n *= t->ne[d];
    return n;
}

void vkr_contiguous_strides(const int64_t ne[VKR_DIMS], int64_t nb[VKR_DIMS])
{
    int64_t s = 1;
    for (int d = VKR_DIMS - 1; d >= 0; d--) {
        nb[d] = s;
        s *= ne[d];
    }
}

int vkr_tensor_is_contiguous(const vkr_tensor *t)
{
    int64_t s = 1;
    for (int d = VKR_DIMS - 1; d >= 0; d--) {
        if (t->ne[d] != 1 && t->nb[d] != s)
            return 0;
        s *= t->ne[d];
    }
    return 1;
}

uint64_t vkr_tensor_span_bytes(const vkr_tensor *t)
{
    uint64_t last = 0;
    for (int d = 0; d < VKR_DIMS; d++)
        last += (uint64_t)(t->ne[d] - 1) * (uint64_t)t->nb[d];
    return (last + 1) * vkr_dtype_size(t->dtype);
}

int vkr_tensor_slice(const vkr_tensor *t, int dim, int64_t start, int64_t len, vkr_tensor *out)
{
    if (dim < 0 || dim >= VKR_DIMS || start < 0 || len < 1 || start + len > t->ne[dim])
        return vkr_fail(VKR_E_INTERNAL, "slice dim %d [%lld, +%lld) of extent %lld", dim, (long long)start,
                        (long long)len, dim >= 0 && dim < VKR_DIMS ? (long long)t->ne[dim] : -1LL);
    vkr_tensor v = *t;
    v.offset += (uint64_t)(start * t->nb[dim]) * vkr_dtype_size(t->dtype);
    v.ne[dim] = len;
    v.owner = 0;
    *out = v;
    return VKR_OK;
}

int vkr_tensor_permute(const vkr_tensor *t, const int perm[VKR_DIMS], vkr_tensor *out)
{
    int seen = 0;
    for (int d = 0; d < VKR_DIMS; d++) {
        if (perm[d] < 0 || perm[d] >= VKR_DIMS || (seen & (1 << perm[d])))
            return vkr_fail(VKR_E_INTERNAL, "permute: not a permutation of 0..4");
        seen |= 1 << perm[d];
    }
    vkr_tensor v = *t;
    for (int d = 0; d < VKR_DIMS; d++) {
        v.ne[d] = t->ne[perm[d]];
        v.nb[d] = t->nb[perm[d]];
    }
    v.owner = 0;
    *out = v;
    return VKR_OK;
}

int vkr_tensor_reshape(const vkr_tensor *t, const int64_t ne[VKR_DIMS], vkr_tensor *out)
{
    int64_t n = 1;
    for (int d = 0; d < VKR_DIMS; d++)
        n *= ne[d];
    if (!vkr_tensor_is_contiguous(t) || n != vkr_tensor_nelem(t))
        return vkr_fail(VKR_E_INTERNAL, "reshape needs a contiguous tensor with the same element count");
    vkr_tensor v = *t;
    memcpy(v.ne, ne, sizeof v.ne);
    vkr_contiguous_strides(ne, v.nb);
    v.owner = 0;
    *out = v;
    return VKR_OK;
}

int vkr_tensor_broadcast(const vkr_tensor *t, const int64_t ne[VKR_DIMS], vkr_tensor *out)
{
    vkr_tensor v = *t;
    for (int d = 0; d < VKR_DIMS; d++) {
        if (t->ne[d] == ne[d])
            continue;
        if (t->ne[d] != 1)
            return vkr_fail(VKR_E_INTERNAL, "cannot broadcast extent %lld to %lld in dim %d", (long long)t->ne[d],
                            (long long)ne[d], d);
        v.ne[d] = ne[d];
        v.nb[d] = 0;
    }
    v.owner = 0;
    *out = v;
    return VKR_OK;
}

/* ---- transfers ---- */

static float load_f(const void *p, vkr_dtype t, size_t i)
{
    switch (t) {
    case VKR_F16:  return vkr_f16_to_f32(((const uint16_t *)p)[i]);
    case VKR_BF16: return vkr_bf16_to_f32(((const uint16_t *)p)[i]);
    default:       return ((const float *)p)[i];
    }
}

static void convert(void *dst, vkr_dtype dt, const void *src, vkr_dtype st, size_t n)
{
    if (dt == st) {
        memcpy(dst, src, n * vkr_dtype_size(dt));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float v = load_f(src, st, i);
        switch (dt) {
        case VKR_F16:  ((uint16_t *)dst)[i] = vkr_f32_to_f16(v); break;
        case VKR_BF16: ((uint16_t *)dst)[i] = vkr_f32_to_bf16(v); break;
        default:       ((float *)dst)[i] = v; break;
        }
    }
}

static int check_host_dtype(vkr_dtype t)
{
    if (t != VKR_F32 && t != VKR_F16 && t != VKR_BF16)
        return vkr_fail(VKR_E_INTERNAL, "host data must be F32, F16 or BF16, not %s", vkr_dtype_name(t));
    return VKR_OK;
}

static size_t chunk_elems(vkr_gpu *gpu, vkr_dtype a, vkr_dtype b)
{
    size_t es = vkr_dtype_size(a) > vkr_dtype_size(b) ? vkr_dtype_size(a) : vkr_dtype_size(b);
    return (size_t)(gpu->staging_size / 2) / es; /* half the ring: a flush every other chunk at most */
}

int vkr_tensor_upload(vkr_gpu *gpu, const vkr_tensor *t, const void *host, vkr_dtype host_dtype)
{
    int rc = check_host_dtype(host_dtype);
    if (rc)
        return rc;
    if (!vkr_tensor_is_contiguous(t)) {
        vkr_tensor tmp;
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, t->dtype, t->ne, &tmp)))
            return rc;
        if (!(rc = vkr_tensor_upload(gpu, &tmp, host, host_dtype)))
            rc = vkr_op_copy(gpu, &tmp, t);
        vkr_tensor_free(gpu, &tmp);
        return rc;
    }
    size_t n = (size_t)vkr_tensor_nelem(t), es = vkr_dtype_size(t->dtype), step = chunk_elems(gpu, t->dtype, host_dtype);
    for (size_t i = 0; i < n; i += step) {
        size_t m = n - i < step ? n - i : step;
        uint64_t off;
        void *p;
        if ((rc = vkr_staging_alloc(gpu, m * es, &off, &p)))
            return rc;
        convert(p, t->dtype, (const char *)host + i * vkr_dtype_size(host_dtype), host_dtype, m);
        if ((rc = vkr_record_copy(gpu, gpu->staging, off, t->block, t->offset + i * es, m * es, 0)))
            return rc;
    }
    return VKR_OK;
}

int vkr_tensor_download(vkr_gpu *gpu, const vkr_tensor *t, void *host, vkr_dtype host_dtype)
{
    int rc = check_host_dtype(host_dtype);
    if (rc)
        return rc;
    if (!vkr_tensor_is_contiguous(t)) {
        vkr_tensor tmp;
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, t->dtype, t->ne, &tmp)))
            return rc;
        if (!(rc = vkr_op_copy(gpu, t, &tmp)))
            rc = vkr_tensor_download(gpu, &tmp, host, host_dtype);
        vkr_tensor_free(gpu, &tmp);
        return rc;
    }
    size_t n = (size_t)vkr_tensor_nelem(t), es = vkr_dtype_size(t->dtype), step = chunk_elems(gpu, t->dtype, host_dtype);
    for (size_t i = 0; i < n; i += step) {
        size_t m = n - i < step ? n - i : step;
        uint64_t off;
        void *p;
        if ((rc = vkr_staging_alloc(gpu, m * es, &off, &p)) ||
            (rc = vkr_record_copy(gpu, t->block, t->offset + i * es, gpu->staging, off, m * es, 1)) ||
            (rc = vkr_gpu_submit_and_wait(gpu)))
            return rc;
        if (gpu->dry_run) /* nothing was copied: the ring holds stale bytes */
            memset(p, 0, m * es);
        convert((char *)host + i * vkr_dtype_size(host_dtype), host_dtype, p, t->dtype, m);
    }
    return VKR_OK;
}
