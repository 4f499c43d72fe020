/* Convolution kernels vs the plain-C reference (gpu/ref_conv.c): conv2d (1x1,
 * 3x3, strides 1/2, symmetric and the VAE downsampler's asymmetric pad, bias,
 * fused residual + output scale, frames folded into the batch, a permuted
 * input view, an output slice), the temporal (3,1,1) conv, conv1d with
 * dilation and fused input leaky_relu, conv_transpose1d; every storage dtype
 * and f16 weights on f32 activations; odd sizes; and the split path for
 * tensors larger than a binding window (forced with a 64 KiB window).
 *
 * Tolerances (inputs are rounded to the storage type on the host, so both
 * sides see the same values; the GPU accumulates in f32, the reference in
 * double, reductions here are up to 33*9 = 297 terms of |x| <= 1, |w| <= 0.5):
 *   F32 output:  |err| <= 1e-4 + 1e-4 |want|, nmse <= 1e-9 (f32 summation order)
 *   F16 output:  |err| <= 1e-3 + 2e-3 |want|, nmse <= 1e-6 (one f16 rounding)
 *   BF16 output: |err| <= 1e-2 + 1e-2 |want|, nmse <= 5e-5 (one bf16 rounding) */
#include "gpu_test.h"

#include "gpu/ops_conv.h"
#include "gpu/ref_conv.h"

#include <string.h>

static uint64_t seed = 4242;

static gt_tol conv_tol(vkr_dtype t)
{
    switch (t) {
    case VKR_F16:  return (gt_tol){1e-3, 2e-3, 1e-6};
    case VKR_BF16: return (gt_tol){1e-2, 1e-2, 5e-5};
    default:       return (gt_tol){1e-4, 1e-4, 1e-9};
    }
}

static float *rand_floats(size_t n, float lo, float hi, vkr_dtype t)
{
    float *v = calloc(n ? n : 1, sizeof *v);
    gt_rand(v, n, lo, hi, &seed);
    gt_round(v, n, t);
    return v;
}

/* Device copy of host data (contiguous). */
static vkr_tensor upload(vkr_gpu *gpu, vkr_dtype t, const int64_t ne[5], const float *data)
{
    vkr_tensor d = {0};
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, t, ne, &d));
    GT_OK(vkr_tensor_upload(gpu, &d, data, VKR_F32));
    return d;
}

typedef enum { OP_CONV2D, OP_TEMPORAL, OP_CONV1D, OP_CONVT1D } op_kind;

typedef struct {
    op_kind op;
    int64_t N, C, F, H, W, O; /* conv1d/convT: H = F = 1, W = L */
    int k, kt;                /* conv2d: k x k; temporal: kt; 1-D: k */
    vkr_conv2d_params p2;
    vkr_conv1d_params p1;
    int stride, padding;      /* conv_transpose1d */
    int bias, residual;
    int permuted_x;           /* x stored (N, F, C, H, W), passed as a permuted view */
    int out_slice;            /* y is channels [2, 2 + O) of a bigger tensor */
} conv_case;

static void run_case(vkr_gpu *gpu, const conv_case *cc, vkr_dtype xt, vkr_dtype wt)
{
    int64_t xne[5] = {cc->N, cc->C, cc->F, cc->H, cc->W}, wne[5], yne[5];
    switch (cc->op) {
    case OP_CONV2D: {
        int64_t ho = vkr_conv_out_extent(cc->H, cc->k, cc->p2.stride_h, 1, cc->p2.pad_top, cc->p2.pad_bottom);
        int64_t wo = vkr_conv_out_extent(cc->W, cc->k, cc->p2.stride_w, 1, cc->p2.pad_left, cc->p2.pad_right);
        memcpy(wne, (int64_t[5]){1, cc->O, cc->C, cc->k, cc->k}, sizeof wne);
        memcpy(yne, (int64_t[5]){cc->N, cc->O, cc->F, ho, wo}, sizeof yne);
        break;
    }
    case OP_TEMPORAL:
        memcpy(wne, (int64_t[5]){cc->O, cc->C, cc->kt, 1, 1}, sizeof wne);
        memcpy(yne, (int64_t[5]){cc->N, cc->O, cc->F, cc->H, cc->W}, sizeof yne);
        break;
    case OP_CONV1D: {
        int64_t lo = vkr_conv_out_extent(cc->W, cc->k, cc->p1.stride, cc->p1.dilation, cc->p1.padding, cc->p1.padding);
        memcpy(wne, (int64_t[5]){1, 1, cc->O, cc->C, cc->k}, sizeof wne);
        memcpy(yne, (int64_t[5]){cc->N, cc->O, 1, 1, lo}, sizeof yne);
        break;
    }
    default: {
        int64_t lo = (cc->W - 1) * cc->stride - 2 * cc->padding + cc->k;
        memcpy(wne, (int64_t[5]){1, 1, cc->C, cc->O, cc->k}, sizeof wne);
        memcpy(yne, (int64_t[5]){cc->N, cc->O, 1, 1, lo}, sizeof yne);
        break;
    }
    }
    size_t nx = gt_nelem(xne), nw = gt_nelem(wne), ny = gt_nelem(yne);
    float *x = rand_floats(nx, -1, 1, xt), *w = rand_floats(nw, -0.5f, 0.5f, wt);
    float *b = rand_floats((size_t)cc->O, -1, 1, wt), *r = rand_floats(ny, -1, 1, xt);
    float *got = calloc(ny, sizeof *got), *want = calloc(ny, sizeof *want);

    vkr_tensor tx, tw = upload(gpu, wt, wne, w), tr = {0}, tb = {0}, ty, ystore = {0}, xstore = {0};
    const int64_t bne[5] = {1, 1, 1, 1, cc->O};
    if (cc->bias)
        tb = upload(gpu, wt, bne, b);
    if (cc->permuted_x) { /* stored (N, F, C, H, W); the view swaps C and F back */
        const int64_t sne[5] = {cc->N, cc->F, cc->C, cc->H, cc->W};
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, xt, sne, &xstore));
        GT_OK(vkr_tensor_permute(&xstore, (const int[5]){0, 2, 1, 3, 4}, &tx));
        GT_OK(vkr_tensor_upload(gpu, &tx, x, VKR_F32));
    } else {
        tx = xstore = upload(gpu, xt, xne, x);
    }
    if (cc->out_slice) {
        int64_t big[5] = {yne[0], yne[1] + 5, yne[2], yne[3], yne[4]};
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, xt, big, &ystore));
        GT_OK(vkr_tensor_slice(&ystore, 1, 2, yne[1], &ty));
    } else {
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, xt, yne, &ystore));
        ty = ystore;
    }
    if (cc->residual)
        tr = upload(gpu, xt, yne, r);

    vkr_host_tensor hx = vkr_host_contiguous(x, xne), hw = vkr_host_contiguous(w, wne),
                    hy = vkr_host_contiguous(want, yne), hr = vkr_host_contiguous(r, yne);
    const vkr_tensor *pb = cc->bias ? &tb : NULL, *pr = cc->residual ? &tr : NULL;
    const float *bb = cc->bias ? b : NULL;
    const vkr_host_tensor *hrr = cc->residual ? &hr : NULL;
    const char *opname = "?";
    switch (cc->op) {
    case OP_CONV2D:
        opname = "conv2d";
        GT_OK(vkr_op_conv2d(gpu, &tx, &tw, pb, pr, &cc->p2, &ty));
        vkr_ref_conv2d(&hx, &hw, bb, hrr, &cc->p2, &hy);
        break;
    case OP_TEMPORAL:
        opname = "conv_temporal";
        GT_OK(vkr_op_conv_temporal(gpu, &tx, &tw, pb, pr, &ty));
        vkr_ref_conv_temporal(&hx, &hw, bb, hrr, &hy);
        break;
    case OP_CONV1D:
        opname = "conv1d";
        GT_OK(vkr_op_conv1d(gpu, &tx, &tw, pb, &cc->p1, &ty));
        vkr_ref_conv1d(&hx, &hw, bb, &cc->p1, &hy);
        break;
    default:
        opname = "conv_transpose1d";
        GT_OK(vkr_op_conv_transpose1d(gpu, &tx, &tw, pb, cc->stride, cc->padding, &ty));
        vkr_ref_conv_transpose1d(&hx, &hw, bb, cc->stride, cc->padding, &hy);
        break;
    }
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    char name[200];
    snprintf(name, sizeof name, "%s x=%s w=%s N%lld C%lld F%lld %lldx%lld O%lld k%d%s%s%s%s", opname,
             vkr_dtype_name(xt), vkr_dtype_name(wt), (long long)cc->N, (long long)cc->C, (long long)cc->F,
             (long long)cc->H, (long long)cc->W, (long long)cc->O, cc->op == OP_TEMPORAL ? cc->kt : cc->k,
             cc->bias ? " bias" : "", cc->residual ? " residual" : "", cc->permuted_x ? " permuted-x" : "",
             cc->out_slice ? " y-slice" : "");
    gt_tol tol = conv_tol(xt);
    gt_compare(name, xt, got, want, yne, &tol);

    vkr_tensor_free(gpu, &xstore);
    vkr_tensor_free(gpu, &tw);
    vkr_tensor_free(gpu, &ystore);
    if (cc->bias)
        vkr_tensor_free(gpu, &tb);
    if (cc->residual)
        vkr_tensor_free(gpu, &tr);
    free(x), free(w), free(b), free(r), free(got), free(want);
}

#define PAD(p) .pad_top = (p), .pad_bottom = (p), .pad_left = (p), .pad_right = (p)

static const conv_case cases[] = {
    /* conv2d */
    {OP_CONV2D, 1, 1, 1, 1, 1, 3, 1, 0, {0}, {0}, 0, 0, 1, 0, 0, 0},
    {OP_CONV2D, 1, 3, 3, 3, 5, 7, 3, 0, {PAD(1)}, {0}, 0, 0, 1, 0, 0, 0},
    {OP_CONV2D, 2, 7, 1, 7, 9, 33, 3, 0, {.stride_h = 2, .stride_w = 2, PAD(1)}, {0}, 0, 0, 1, 0, 0, 0},
    {OP_CONV2D, 1, 33, 1, 17, 33, 7, 3, 0, {PAD(1), .output_scale_factor = 2}, {0}, 0, 0, 1, 1, 0, 0},
    /* SD VAE Downsample2D: F.pad (0, 1, 0, 1), then 3x3 stride 2 pad 0 */
    {OP_CONV2D, 1, 3, 1, 7, 9, 5, 3, 0, {.stride_h = 2, .stride_w = 2, .pad_bottom = 1, .pad_right = 1}, {0}, 0, 0,
     1, 0, 0, 0},
    {OP_CONV2D, 1, 33, 5, 3, 5, 33, 1, 0, {0}, {0}, 0, 0, 1, 1, 0, 0},
    /* frames folded into the batch through a permuted (N, F, C, H, W) store, output slice */
    {OP_CONV2D, 2, 7, 3, 3, 5, 3, 3, 0, {PAD(1)}, {0}, 0, 0, 1, 0, 1, 1},
    /* temporal (3,1,1) */
    {OP_TEMPORAL, 1, 3, 1, 3, 5, 7, 0, 3, {0}, {0}, 0, 0, 1, 0, 0, 0},
    {OP_TEMPORAL, 1, 33, 5, 3, 5, 7, 0, 3, {0}, {0}, 0, 0, 1, 1, 0, 0},
    {OP_TEMPORAL, 2, 7, 3, 1, 1, 33, 0, 3, {0}, {0}, 0, 0, 0, 0, 1, 0},
    /* conv1d (HiFi-GAN resblock: k 3/7/11, dilation 1/3/5, pad d(k-1)/2, leaky input) */
    {OP_CONV1D, 1, 7, 1, 1, 1, 3, 11, 0, {0}, {.dilation = 5, .padding = 25, .input_leaky_relu = 1, .input_slope = 0.1f},
     0, 0, 1, 0, 0, 0},
    {OP_CONV1D, 2, 7, 1, 1, 7, 3, 7, 0, {0}, {.dilation = 3, .padding = 9, .input_leaky_relu = 1, .input_slope = 0.1f},
     0, 0, 1, 0, 0, 0},
    {OP_CONV1D, 1, 33, 1, 1, 257, 7, 3, 0, {0}, {.dilation = 1, .padding = 1}, 0, 0, 1, 0, 0, 0},
    {OP_CONV1D, 1, 3, 1, 1, 257, 1, 7, 0, {0}, {.stride = 2, .padding = 3}, 0, 0, 0, 0, 0, 0},
    /* conv_transpose1d (HiFi-GAN upsamplers: pad (k - s) / 2) */
    {OP_CONVT1D, 1, 7, 1, 1, 1, 3, 16, 0, {0}, {0}, 5, 5, 1, 0, 0, 0},
    {OP_CONVT1D, 2, 7, 1, 1, 7, 3, 16, 0, {0}, {0}, 5, 5, 1, 0, 0, 0},
    {OP_CONVT1D, 1, 33, 1, 1, 33, 7, 4, 0, {0}, {0}, 2, 1, 1, 0, 0, 0},
    {OP_CONVT1D, 1, 3, 1, 1, 257, 1, 11, 0, {0}, {0}, 5, 3, 0, 0, 0, 0},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    static const vkr_dtype dtypes[] = {VKR_F32, VKR_F16, VKR_BF16};
    /* every case in f32; f16 and bf16 on a subset covering each op and
     * epilogue (each distinct shape/dtype compiles a pipeline: lavapipe is slow at it) */
    static const int low_precision[] = {1, 3, 4, 6, 8, 11, 15};
    for (int c = 0; c < N_CASES; c++)
        run_case(gpu, &cases[c], VKR_F32, VKR_F32);
    for (size_t c = 0; c < sizeof low_precision / sizeof low_precision[0]; c++)
        for (int t = 1; t < 3; t++)
            run_case(gpu, &cases[low_precision[c]], dtypes[t], dtypes[t]);
    /* f16 weights on f32 activations */
    run_case(gpu, &cases[3], VKR_F32, VKR_F16);
    run_case(gpu, &cases[12], VKR_F32, VKR_BF16);

    /* argument errors are reported, not crashed on */
    {
        int64_t xne[5] = {1, 3, 1, 5, 5}, wne[5] = {1, 4, 2, 3, 3}, yne[5] = {1, 4, 1, 5, 5};
        vkr_tensor x, w, y;
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, xne, &x));
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, wne, &w));
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, yne, &y));
        vkr_conv2d_params p = {PAD(1)};
        CHECK(vkr_op_conv2d(gpu, &x, &w, NULL, NULL, &p, &y) == VKR_E_INTERNAL, "channel mismatch must fail");
        vkr_tensor_free(gpu, &x), vkr_tensor_free(gpu, &w), vkr_tensor_free(gpu, &y);
    }
    gt_close(gpu);

    /* split path: a 64 KiB window forces cuts along N (whole items), and
     * along F, H or W with the halo (single-channel tensors: the channels of
     * one item are never split, see gpu/ops_conv.h) */
    vkr_gpu *small = gt_open(&(vkr_gpu_options){.max_binding_range = 65536});
    const conv_case big2d = {OP_CONV2D, 4, 3, 1, 33, 65, 5, 3, 0, {PAD(1)}, {0}, 0, 0, 1, 1, 0, 0};
    const conv_case big2h = {OP_CONV2D, 1, 1, 1, 65, 257, 1, 3, 0, {.stride_h = 2, .stride_w = 2, PAD(1)}, {0}, 0, 0,
                             1, 0, 0, 0};
    const conv_case bigt = {OP_TEMPORAL, 1, 1, 5, 33, 129, 1, 0, 3, {0}, {0}, 0, 0, 1, 1, 0, 0};
    const conv_case big1d = {OP_CONV1D, 1, 1, 1, 1, 20000, 1, 7, 0, {0}, {.dilation = 3, .padding = 9}, 0, 0, 1, 0, 0, 0};
    run_case(small, &big2h, VKR_F32, VKR_F32);
    run_case(small, &big2d, VKR_F32, VKR_F32);
    run_case(small, &bigt, VKR_F16, VKR_F16);
    run_case(small, &big1d, VKR_F32, VKR_F32);
    gt_close(small);
    return check_summary("test_gpu_conv");
}
