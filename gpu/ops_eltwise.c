/* Host side of the elementwise family: shaders/eltwise_unary.comp and
 * shaders/eltwise_binary.comp, variants in shaders/family_eltwise.cmake,
 * reference in gpu/ref_eltwise.c, tests in tests/test_gpu_eltwise.c. */
#include "gpu/ops_eltwise.h"
#include "gpu/kernel.h"

#include "common/status.h"

#include <string.h>

#define WORKGROUP 256

/* [source storage][destination storage] (unary); [a][b] (binary). */
static const vkr_shader_code *const unary_variants[3][3] = {
    {&vkr_spv_eltwise_unary_f32_f32, &vkr_spv_eltwise_unary_f32_f16, &vkr_spv_eltwise_unary_f32_bf16},
    {&vkr_spv_eltwise_unary_f16_f32, &vkr_spv_eltwise_unary_f16_f16, &vkr_spv_eltwise_unary_f16_bf16},
    {&vkr_spv_eltwise_unary_bf16_f32, &vkr_spv_eltwise_unary_bf16_f16, &vkr_spv_eltwise_unary_bf16_bf16},
};
static const vkr_shader_code *const binary_variants[3][3] = {
    {&vkr_spv_eltwise_binary_f32_f32, &vkr_spv_eltwise_binary_f32_f16, &vkr_spv_eltwise_binary_f32_bf16},
    {&vkr_spv_eltwise_binary_f16_f32, &vkr_spv_eltwise_binary_f16_f16, &vkr_spv_eltwise_binary_f16_bf16},
    {&vkr_spv_eltwise_binary_bf16_f32, &vkr_spv_eltwise_binary_bf16_f16, &vkr_spv_eltwise_binary_bf16_bf16},
};

static const char *const unary_names[VKR_UNARY_COUNT] = {
    "copy", "scale_shift", "silu", "gelu_erf", "gelu_tanh", "quick_gelu", "relu", "leaky_relu", "tanh", "sigmoid", "fill", "clamp"};
static const char *const binary_names[VKR_BINARY_COUNT] = {"add", "sub", "mul", "div"};
/* Rough flop counts per element for the profiler's GFLOP/s column. */
static const double unary_flops[VKR_UNARY_COUNT] = {0, 2, 4, 20, 12, 5, 1, 2, 8, 4, 0, 2};

const char *vkr_unary_name(vkr_unary_op op) { return (unsigned)op < VKR_UNARY_COUNT ? unary_names[op] : "?"; }
const char *vkr_binary_name(vkr_binary_op op) { return (unsigned)op < VKR_BINARY_COUNT ? binary_names[op] : "?"; }

/* Push constants: the layouts of `Push` in the two shaders. */
typedef struct {
    uint32_t ne[5], n, off_a, off_d, nb_a[5], nb_d[5];
    float p0, p1;
} unary_push;
typedef struct {
    uint32_t ne[5], n, off_a, off_b, off_d, nb_a[5], nb_b[5], nb_d[5];
    float p0, p1;
} binary_push;

typedef struct {
    vkr_kernel k;
    int n_in;
    float p0, p1;
    double flops_per_elem;
} eltwise_job;

/* One chunk: view[0..n_in) are inputs, view[n_in] is the output. */
static int run_chunk(vkr_gpu *gpu, const vkr_chunk *chunk, void *user)
{
    const eltwise_job *job = user;
    vkr_chunk collapsed = *chunk, *c = &collapsed;
    vkr_chunk_collapse(c, job->n_in + 1);
    vkr_binding b[3];
    uint32_t off[3];
    uint64_t n = 1, bytes = 0;
    for (int d = 0; d < VKR_DIMS; d++)
        n *= (uint64_t)c->ne[d];
    for (int i = 0; i <= job->n_in; i++) {
        int rc = vkr_bind_tensor(gpu, &c->view[i], i == job->n_in, &b[i], &off[i]);
        if (rc)
            return rc;
        bytes += vkr_tensor_span_bytes(&c->view[i]); /* DRAM traffic: a broadcast operand is read once */
    }
    double flops = job->flops_per_elem * (double)n;
    if (job->n_in == 1) {
        unary_push p = {.n = (uint32_t)n, .off_a = off[0], .off_d = off[1], .p0 = job->p0, .p1 = job->p1};
        vkr_ne_u32(&c->view[0], p.ne); /* views have the chunk's extents */
        vkr_nb_u32(&c->view[0], p.nb_a);
        vkr_nb_u32(&c->view[1], p.nb_d);
        return vkr_dispatch_1d(gpu, &job->k, b, 2, &p, sizeof p, n, flops, (double)bytes);
    }
    binary_push p = {.n = (uint32_t)n, .off_a = off[0], .off_b = off[1], .off_d = off[2], .p0 = job->p0, .p1 = job->p1};
    vkr_ne_u32(&c->view[0], p.ne);
    vkr_nb_u32(&c->view[0], p.nb_a);
    vkr_nb_u32(&c->view[1], p.nb_b);
    vkr_nb_u32(&c->view[2], p.nb_d);
    return vkr_dispatch_1d(gpu, &job->k, b, 3, &p, sizeof p, n, flops, (double)bytes);
}

static int check_out(const vkr_tensor *out)
{
    for (int d = 0; d < VKR_DIMS; d++)
        if (out->ne[d] < 1 || out->nb[d] < 0 || (out->nb[d] == 0 && out->ne[d] > 1))
            return vkr_fail(VKR_E_INTERNAL, "output dim %d: extent %lld stride %lld (broadcast outputs are not allowed)",
                            d, (long long)out->ne[d], (long long)out->nb[d]);
    return VKR_OK;
}

int vkr_op_unary(vkr_gpu *gpu, vkr_unary_op op, const vkr_tensor *x, const vkr_tensor *out, float p0, float p1)
{
    if ((unsigned)op >= VKR_UNARY_COUNT)
        return vkr_fail(VKR_E_INTERNAL, "unknown unary op %d", (int)op);
    int sx, so, rc;
    if ((rc = vkr_storage_index(gpu, x->dtype, &sx)) || (rc = vkr_storage_index(gpu, out->dtype, &so)) ||
        (rc = check_out(out)))
        return rc;
    eltwise_job job = {.k = {.name = unary_names[op], .shader = unary_variants[sx][so], .spec = {WORKGROUP, op},
                             .n_spec = 2},
                       .n_in = 1, .p0 = p0, .p1 = p1, .flops_per_elem = unary_flops[op]};
    vkr_tensor ops[2] = {*x, *out};
    return vkr_for_each_chunk(gpu, out->ne, ops, 2, run_chunk, &job);
}

int vkr_op_binary(vkr_gpu *gpu, vkr_binary_op op, const vkr_tensor *a, const vkr_tensor *b, const vkr_tensor *out)
{
    if ((unsigned)op >= VKR_BINARY_COUNT)
        return vkr_fail(VKR_E_INTERNAL, "unknown binary op %d", (int)op);
    if (a->dtype != out->dtype)
        return vkr_fail(VKR_E_INTERNAL, "%s: out (%s) must have a's dtype (%s)", binary_names[op],
                        vkr_dtype_name(out->dtype), vkr_dtype_name(a->dtype));
    int sa, sb, rc;
    if ((rc = vkr_storage_index(gpu, a->dtype, &sa)) || (rc = vkr_storage_index(gpu, b->dtype, &sb)) ||
        (rc = check_out(out)))
        return rc;
    eltwise_job job = {.k = {.name = binary_names[op], .shader = binary_variants[sa][sb], .spec = {WORKGROUP, op},
                             .n_spec = 2},
                       .n_in = 2, .flops_per_elem = 1};
    vkr_tensor ops[3] = {*a, *b, *out};
    return vkr_for_each_chunk(gpu, out->ne, ops, 3, run_chunk, &job);
}

int vkr_op_add(vkr_gpu *gpu, const vkr_tensor *a, const vkr_tensor *b, const vkr_tensor *out)
{
    return vkr_op_binary(gpu, VKR_BINARY_ADD, a, b, out);
}
int vkr_op_mul(vkr_gpu *gpu, const vkr_tensor *a, const vkr_tensor *b, const vkr_tensor *out)
{
    return vkr_op_binary(gpu, VKR_BINARY_MUL, a, b, out);
}
int vkr_op_scale_shift(vkr_gpu *gpu, const vkr_tensor *x, float scale, float shift, const vkr_tensor *out)
{
    return vkr_op_unary(gpu, VKR_UNARY_SCALE_SHIFT, x, out, scale, shift);
}
int vkr_op_silu(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out)
{
    return vkr_op_unary(gpu, VKR_UNARY_SILU, x, out, 0, 0);
}
int vkr_op_gelu(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out)
{
    return vkr_op_unary(gpu, VKR_UNARY_GELU_ERF, x, out, 0, 0);
}
int vkr_op_gelu_tanh(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out)
{
    return vkr_op_unary(gpu, VKR_UNARY_GELU_TANH, x, out, 0, 0);
}
int vkr_op_quick_gelu(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out)
{
    return vkr_op_unary(gpu, VKR_UNARY_QUICK_GELU, x, out, 0, 0);
}
int vkr_op_relu(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out)
{
    return vkr_op_unary(gpu, VKR_UNARY_RELU, x, out, 0, 0);
}
int vkr_op_leaky_relu(vkr_gpu *gpu, const vkr_tensor *x, float slope, const vkr_tensor *out)
{
    return vkr_op_unary(gpu, VKR_UNARY_LEAKY_RELU, x, out, slope, 0);
}
int vkr_op_tanh(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out)
{
    return vkr_op_unary(gpu, VKR_UNARY_TANH, x, out, 0, 0);
}

int vkr_op_fill(vkr_gpu *gpu, const vkr_tensor *out, float value)
{
    return vkr_op_unary(gpu, VKR_UNARY_FILL, out, out, value, 0);
}

int vkr_op_clamp(vkr_gpu *gpu, const vkr_tensor *x, float lo, float hi, const vkr_tensor *out)
{
    return vkr_op_unary(gpu, VKR_UNARY_CLAMP, x, out, lo, hi);
}

int vkr_op_copy(vkr_gpu *gpu, const vkr_tensor *src, const vkr_tensor *dst)
{
    return vkr_op_unary(gpu, VKR_UNARY_IDENTITY, src, dst, 0, 0);
}

int vkr_op_concat(vkr_gpu *gpu, const vkr_tensor *a, const vkr_tensor *b, int dim, const vkr_tensor *out)
{
    if (dim < 0 || dim >= VKR_DIMS || a->ne[dim] + b->ne[dim] != out->ne[dim])
        return vkr_fail(VKR_E_INTERNAL, "concat: extents do not add up in dim %d", dim);
    vkr_tensor sa, sb;
    int rc = vkr_tensor_slice(out, dim, 0, a->ne[dim], &sa);
    if (!rc)
        rc = vkr_tensor_slice(out, dim, a->ne[dim], b->ne[dim], &sb);
    if (!rc)
        rc = vkr_op_copy(gpu, a, &sa);
    if (!rc)
        rc = vkr_op_copy(gpu, b, &sb);
    return rc;
}
