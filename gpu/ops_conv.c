/* Host side of the convolution family: shaders/conv.comp (variants in
 * shaders/family_conv.cmake), reference gpu/ref_conv.c, tests
 * tests/test_gpu_conv.c, benchmarks gpu/bench_conv.c.
 *
 * Every op is reduced to one general form -- a 3-D (F, H, W) correlation with
 * per-dim kernel extent, stride, dilation and leading pad, weights addressed
 * through (output channel, input channel, flat tap) strides -- and run by
 * run_conv(), which splits the output when an operand exceeds a binding. */
#include "gpu/ops_conv.h"
#include "gpu/kernel.h"

#include "common/status.h"

#include <string.h>

/* [x/y storage][weight storage] */
static const vkr_shader_code *const conv_variants[3][3] = {
    {&vkr_spv_conv_f32_f32, &vkr_spv_conv_f32_f16, &vkr_spv_conv_f32_bf16},
    {&vkr_spv_conv_f16_f32, &vkr_spv_conv_f16_f16, &vkr_spv_conv_f16_bf16},
    {&vkr_spv_conv_bf16_f32, &vkr_spv_conv_bf16_f16, &vkr_spv_conv_bf16_bf16},
};

/* = Push in shaders/conv.comp (128 bytes) */
typedef struct {
    uint32_t x_ne[4], x_nb[5], y_ne[5], y_nb[5];
    uint32_t off_x, off_w, off_b, off_r, off_y;
    int32_t pad_f, pad_h, pad_w;
    int32_t w_nb_o, w_nb_i, w_nb_tap;
    float scale, slope;
} conv_push;
_Static_assert(sizeof(conv_push) == 128, "conv push constants");

/* The general form. Spatial dims index 0..2 = F, H, W. */
typedef struct {
    const char *name;
    vkr_tensor x, w, y, bias, res; /* y may be a strided view; bias/res valid if has_* */
    int has_bias, has_res;
    int64_t C, O;
    int k[3], stride[3], dil[3], pad[3];
    int64_t w_off; /* elements from w's first element to tap 0 of (o 0, i 0) */
    int64_t w_nb_o, w_nb_i, w_nb_tap;
    float scale, slope;
    int leaky;
} conv_job;

int64_t vkr_conv_out_extent(int64_t in, int k, int stride, int dilation, int pad_begin, int pad_end)
{
    if (stride < 1)
        stride = 1;
    if (dilation < 1)
        dilation = 1;
    int64_t span = in + pad_begin + pad_end - (int64_t)dilation * (k - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
}

/* Tile shapes (spec constants 0..3: WG, TM, TN, BK; see shaders/conv.comp).
 * Few output channels (the VAE's conv_out, the vocoder's 1-channel output)
 * get a narrower channel tile. */
static void pick_tiles(int64_t O, uint32_t spec[4])
{
    uint32_t tm = O <= 4 ? 4 : O <= 8 ? 8 : O <= 16 ? 16 : 32;
    const uint32_t s[4] = {64, tm, 4, 8};
    memcpy(spec, s, sizeof s);
}

static int dispatch_box(vkr_gpu *gpu, const conv_job *j, const vkr_tensor *xv, const vkr_tensor *yv,
                        const vkr_tensor *rv, const int pad[3])
{
    int sx, sw, rc;
    if ((rc = vkr_storage_index(gpu, j->x.dtype, &sx)) || (rc = vkr_storage_index(gpu, j->w.dtype, &sw)))
        return rc;
    vkr_binding b[5];
    uint32_t off[5] = {0};
    if ((rc = vkr_bind_tensor(gpu, xv, 0, &b[0], &off[0])) || (rc = vkr_bind_tensor(gpu, &j->w, 0, &b[1], &off[1])) ||
        (rc = vkr_bind_tensor(gpu, j->has_bias ? &j->bias : &j->w, 0, &b[2], &off[2])) ||
        (rc = vkr_bind_tensor(gpu, j->has_res ? rv : xv, 0, &b[3], &off[3])) ||
        (rc = vkr_bind_tensor(gpu, yv, 1, &b[4], &off[4])))
        return rc;
    conv_push pc = {.off_x = off[0], .off_w = (uint32_t)(off[1] + j->w_off), .off_b = off[2], .off_r = off[3],
                    .off_y = off[4], .pad_f = pad[0], .pad_h = pad[1], .pad_w = pad[2],
                    .w_nb_o = (int32_t)j->w_nb_o, .w_nb_i = (int32_t)j->w_nb_i, .w_nb_tap = (int32_t)j->w_nb_tap,
                    .scale = j->scale, .slope = j->slope};
    uint32_t ne[5];
    vkr_ne_u32(xv, ne);
    pc.x_ne[0] = (uint32_t)j->C, pc.x_ne[1] = ne[2], pc.x_ne[2] = ne[3], pc.x_ne[3] = ne[4];
    vkr_nb_u32(xv, pc.x_nb);
    vkr_ne_u32(yv, pc.y_ne);
    vkr_nb_u32(yv, pc.y_nb);

    uint32_t spec[4];
    pick_tiles(j->O, spec);
    vkr_kernel k = {.name = j->name, .shader = conv_variants[sx][sw], .n_spec = 8};
    memcpy(k.spec, spec, sizeof spec);
    k.spec[5] = (uint32_t)j->k[0] | (uint32_t)j->k[1] << 8 | (uint32_t)j->k[2] << 16;
    k.spec[6] = (uint32_t)j->stride[0] | (uint32_t)j->stride[1] << 5 | (uint32_t)j->stride[2] << 10 |
                (uint32_t)j->dil[0] << 15 | (uint32_t)j->dil[1] << 20 | (uint32_t)j->dil[2] << 25;
    k.spec[7] = (uint32_t)(j->has_bias | j->has_res << 1 | j->leaky << 2);

    uint64_t P = (uint64_t)yv->ne[0] * (uint64_t)yv->ne[2] * (uint64_t)yv->ne[3] * (uint64_t)yv->ne[4];
    uint64_t px = (uint64_t)spec[0] * spec[2]; /* pixels per workgroup */
    uint64_t n_groups = (uint64_t)((j->O + spec[1] - 1) / spec[1]) * ((P + px - 1) / px);
    uint32_t groups[3];
    if ((rc = vkr_grid_1d(gpu, n_groups, groups)))
        return rc;
    double taps = (double)j->k[0] * j->k[1] * j->k[2];
    double flops = 2.0 * (double)j->O * (double)P * (double)j->C * taps;
    double bytes = (double)(vkr_tensor_span_bytes(xv) + vkr_tensor_span_bytes(&j->w) + vkr_tensor_span_bytes(yv));
    return vkr_dispatch(gpu, &k, b, 5, &pc, sizeof pc, groups, flops, bytes);
}

static int fits(const vkr_gpu *gpu, const vkr_tensor *t)
{
    return vkr_tensor_span_bytes(t) + 256 <= vkr_gpu_max_range(gpu); /* + window alignment slack */
}

/* Output box [y0, y0 + yn) in dims N, F, H, W (dim 1, channels, is whole). */
static int conv_box(vkr_gpu *gpu, const conv_job *j, const int64_t y0[5], const int64_t yn[5])
{
    vkr_tensor xv = j->x, yv = j->y, rv = j->has_res ? j->res : j->y;
    int pad[3];
    int rc = 0;
    if (!rc)
        rc = vkr_tensor_slice(&j->x, 0, y0[0], yn[0], &xv);
    for (int d = 0; d < VKR_DIMS && !rc; d++) {
        if (d == 1)
            continue;
        rc = vkr_tensor_slice(&yv, d, y0[d], yn[d], &yv);
        if (!rc && j->has_res)
            rc = vkr_tensor_slice(&rv, d, y0[d], yn[d], &rv);
        if (rc)
            break;
        if (d >= 2) { /* input range with the halo, clipped to x */
            int s = d - 2;
            int64_t X = j->x.ne[d];
            int64_t lo = y0[d] * j->stride[s] - j->pad[s];
            int64_t hi = (y0[d] + yn[d] - 1) * j->stride[s] - j->pad[s] + (int64_t)(j->k[s] - 1) * j->dil[s];
            int64_t vs = lo < 0 ? 0 : lo, ve = hi > X - 1 ? X - 1 : hi;
            if (vs > X - 1)
                vs = X - 1;
            if (ve < vs)
                ve = vs; /* all padding: any row will do, none is in range */
            rc = vkr_tensor_slice(&xv, d, vs, ve - vs + 1, &xv);
            pad[s] = (int)(j->pad[s] - y0[d] * j->stride[s] + vs);
        }
    }
    if (rc)
        return rc;
    if (fits(gpu, &xv) && fits(gpu, &yv) && (!j->has_res || fits(gpu, &rv)))
        return dispatch_box(gpu, j, &xv, &yv, &rv, pad);
    static const int order[4] = {0, 2, 3, 4};
    for (int q = 0; q < 4; q++) {
        int d = order[q];
        if (yn[d] < 2)
            continue;
        int64_t a0[5], an[5];
        memcpy(a0, y0, sizeof a0);
        memcpy(an, yn, sizeof an);
        an[d] = (yn[d] + 1) / 2;
        if ((rc = conv_box(gpu, j, a0, an)))
            return rc;
        a0[d] += an[d];
        an[d] = yn[d] - an[d];
        return conv_box(gpu, j, a0, an);
    }
    return vkr_fail(VKR_E_DATA,
                    "%s: the channels of one output pixel's input/output do not fit a %llu-byte binding window "
                    "(channels are never split)", j->name, (unsigned long long)vkr_gpu_max_range(gpu));
}

static int run_conv(vkr_gpu *gpu, conv_job *j)
{
    if (!fits(gpu, &j->w) || (j->has_bias && !fits(gpu, &j->bias)))
        return vkr_fail(VKR_E_DATA, "%s: the weight does not fit one binding window", j->name);
    for (int d = 0; d < VKR_DIMS; d++)
        if (j->y.ne[d] < 1)
            return vkr_fail(VKR_E_INTERNAL, "%s: empty output", j->name);
    int64_t y0[5] = {0}, yn[5];
    memcpy(yn, j->y.ne, sizeof yn);
    return conv_box(gpu, j, y0, yn);
}

/* --- argument checks -------------------------------------------------------- */

static int check_common(const char *op, const vkr_tensor *x, const vkr_tensor *w, const vkr_tensor *bias,
                        const vkr_tensor *res, const vkr_tensor *y, int64_t O)
{
    if (!vkr_tensor_is_contiguous(w))
        return vkr_fail(VKR_E_INTERNAL, "%s: the weight must be contiguous", op);
    if (y->dtype != x->dtype)
        return vkr_fail(VKR_E_INTERNAL, "%s: y is %s, x is %s (must match)", op, vkr_dtype_name(y->dtype),
                        vkr_dtype_name(x->dtype));
    if (bias) {
        if (vkr_tensor_nelem(bias) != O || !vkr_tensor_is_contiguous(bias))
            return vkr_fail(VKR_E_INTERNAL, "%s: bias must be %lld contiguous values", op, (long long)O);
        if (bias->dtype != w->dtype)
            return vkr_fail(VKR_E_INTERNAL, "%s: bias must have the weight's dtype", op);
    }
    for (int d = 0; d < VKR_DIMS; d++)
        if (y->nb[d] == 0 && y->ne[d] > 1)
            return vkr_fail(VKR_E_INTERNAL, "%s: broadcast output", op);
    if (res) {
        if (res->dtype != x->dtype)
            return vkr_fail(VKR_E_INTERNAL, "%s: residual must have x's dtype", op);
        for (int d = 0; d < VKR_DIMS; d++)
            if (res->ne[d] != y->ne[d] || (y->ne[d] > 1 && res->nb[d] != y->nb[d]))
                return vkr_fail(VKR_E_INTERNAL, "%s: residual must have y's shape and strides", op);
    }
    return VKR_OK;
}

static void job_tensors(conv_job *j, const vkr_tensor *x, const vkr_tensor *w, const vkr_tensor *bias,
                        const vkr_tensor *res, const vkr_tensor *y)
{
    j->x = *x, j->w = *w, j->y = *y;
    j->has_bias = bias != NULL, j->has_res = res != NULL;
    if (bias)
        j->bias = *bias;
    if (res)
        j->res = *res;
    j->scale = 1.0f;
}

static int positive(int v) { return v < 1 ? 1 : v; }

int vkr_op_conv2d(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                  const vkr_tensor *residual, const vkr_conv2d_params *params, const vkr_tensor *y)
{
    const char *op = "conv2d";
    vkr_conv2d_params pr = params ? *params : (vkr_conv2d_params){0};
    int sh = positive(pr.stride_h), sw = positive(pr.stride_w);
    if (pr.pad_top < 0 || pr.pad_bottom < 0 || pr.pad_left < 0 || pr.pad_right < 0)
        return vkr_fail(VKR_E_INTERNAL, "%s: negative padding", op);
    int64_t O = weight->ne[1], C = x->ne[1], KH = weight->ne[3], KW = weight->ne[4];
    int rc;
    const int64_t wne[5] = {1, O, C, KH, KW};
    if ((rc = vkr_check_shape(op, "weight", weight, wne)))
        return rc;
    if (KH > 255 || KW > 255 || sh > 31 || sw > 31)
        return vkr_fail(VKR_E_INTERNAL, "%s: kernel/stride too large", op);
    int64_t Ho = vkr_conv_out_extent(x->ne[3], (int)KH, sh, 1, pr.pad_top, pr.pad_bottom);
    int64_t Wo = vkr_conv_out_extent(x->ne[4], (int)KW, sw, 1, pr.pad_left, pr.pad_right);
    const int64_t yne[5] = {x->ne[0], O, x->ne[2], Ho, Wo};
    if (Ho < 1 || Wo < 1)
        return vkr_fail(VKR_E_INTERNAL, "%s: kernel larger than the padded input", op);
    if ((rc = vkr_check_shape(op, "y", y, yne)) || (rc = check_common(op, x, weight, bias, residual, y, O)))
        return rc;
    conv_job j = {.name = op, .C = C, .O = O, .k = {1, (int)KH, (int)KW}, .stride = {1, sh, sw}, .dil = {1, 1, 1},
                  .pad = {0, pr.pad_top, pr.pad_left}, .w_nb_o = C * KH * KW, .w_nb_i = KH * KW, .w_nb_tap = 1};
    job_tensors(&j, x, weight, bias, residual, y);
    if (pr.output_scale_factor != 0)
        j.scale = 1.0f / pr.output_scale_factor;
    return run_conv(gpu, &j);
}

int vkr_op_conv_temporal(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                         const vkr_tensor *residual, const vkr_tensor *y)
{
    const char *op = "conv_temporal";
    int64_t O = weight->ne[0], C = x->ne[1], KT = weight->ne[2];
    int rc;
    const int64_t wne[5] = {O, C, KT, 1, 1};
    if ((rc = vkr_check_shape(op, "weight", weight, wne)))
        return rc;
    if (KT % 2 == 0 || KT > 255)
        return vkr_fail(VKR_E_INTERNAL, "%s: kernel %lld frames (odd, < 256)", op, (long long)KT);
    const int64_t yne[5] = {x->ne[0], O, x->ne[2], x->ne[3], x->ne[4]};
    if ((rc = vkr_check_shape(op, "y", y, yne)) || (rc = check_common(op, x, weight, bias, residual, y, O)))
        return rc;
    conv_job j = {.name = op, .C = C, .O = O, .k = {(int)KT, 1, 1}, .stride = {1, 1, 1}, .dil = {1, 1, 1},
                  .pad = {(int)(KT - 1) / 2, 0, 0}, .w_nb_o = C * KT, .w_nb_i = KT, .w_nb_tap = 1};
    job_tensors(&j, x, weight, bias, residual, y);
    return run_conv(gpu, &j);
}

int vkr_op_conv1d(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                  const vkr_conv1d_params *params, const vkr_tensor *y)
{
    const char *op = "conv1d";
    vkr_conv1d_params pr = params ? *params : (vkr_conv1d_params){0};
    int s = positive(pr.stride), dl = positive(pr.dilation);
    int64_t O = weight->ne[2], C = x->ne[1], K = weight->ne[4];
    int rc;
    const int64_t xne[5] = {-1, -1, 1, 1, -1}, wne[5] = {1, 1, O, C, K};
    if ((rc = vkr_check_shape(op, "x", x, xne)) || (rc = vkr_check_shape(op, "weight", weight, wne)))
        return rc;
    if (K > 255 || s > 31 || dl > 31 || pr.padding < 0)
        return vkr_fail(VKR_E_INTERNAL, "%s: kernel %lld, stride %d, dilation %d, padding %d not supported", op,
                        (long long)K, s, dl, pr.padding);
    int64_t Lo = vkr_conv_out_extent(x->ne[4], (int)K, s, dl, pr.padding, pr.padding);
    if (Lo < 1)
        return vkr_fail(VKR_E_INTERNAL, "%s: kernel longer than the padded input", op);
    const int64_t yne[5] = {x->ne[0], O, 1, 1, Lo};
    if ((rc = vkr_check_shape(op, "y", y, yne)) || (rc = check_common(op, x, weight, bias, NULL, y, O)))
        return rc;
    conv_job j = {.name = op, .C = C, .O = O, .k = {1, 1, (int)K}, .stride = {1, 1, s}, .dil = {1, 1, dl},
                  .pad = {0, 0, pr.padding}, .w_nb_o = C * K, .w_nb_i = K, .w_nb_tap = 1};
    job_tensors(&j, x, weight, bias, NULL, y);
    j.leaky = pr.input_leaky_relu != 0;
    j.slope = pr.input_slope;
    return run_conv(gpu, &j);
}

int vkr_op_conv_transpose1d(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                            int stride, int padding, const vkr_tensor *y)
{
    const char *op = "conv_transpose1d";
    int r = positive(stride);
    int64_t C = x->ne[1], O = weight->ne[3], K = weight->ne[4], L = x->ne[4];
    int rc;
    const int64_t xne[5] = {-1, -1, 1, 1, -1}, wne[5] = {1, 1, C, O, K};
    if ((rc = vkr_check_shape(op, "x", x, xne)) || (rc = vkr_check_shape(op, "weight", weight, wne)))
        return rc;
    int64_t Lo = (L - 1) * r - 2 * (int64_t)padding + K;
    if (padding < 0 || Lo < 1 || K > 255 * (int64_t)r)
        return vkr_fail(VKR_E_INTERNAL, "%s: stride %d, padding %d, kernel %lld not supported", op, r, padding,
                        (long long)K);
    const int64_t yne[5] = {x->ne[0], O, 1, 1, Lo};
    if ((rc = vkr_check_shape(op, "y", y, yne)) || (rc = check_common(op, x, weight, bias, NULL, y, O)))
        return rc;
    for (int phase = 0; phase < r; phase++) {
        /* outputs l = l0 + q r with (l + padding) mod r == phase; taps t = phase + m r */
        int64_t l0 = (((phase - padding) % r) + r) % r;
        if (l0 >= Lo)
            continue;
        int64_t Q = (Lo - l0 + r - 1) / r;
        int64_t M = phase < K ? (K - phase + r - 1) / r : 0;
        int64_t c = (l0 + padding - phase) / r; /* j = q + c - m */
        conv_job j = {.name = op, .C = M ? C : 0, .O = O, .k = {1, 1, M ? (int)M : 1}, .stride = {1, 1, 1},
                      .dil = {1, 1, 1}, .pad = {0, 0, (int)(M - 1 - c)}, .w_nb_o = K, .w_nb_i = O * K,
                      .w_nb_tap = -(int64_t)r, .w_off = phase + (M - 1) * r};
        /* taps reversed (stride -r from the last one): input sample q + m' - pad */
        vkr_tensor yv;
        if ((rc = vkr_tensor_slice(y, 4, l0, 1, &yv)))
            return rc;
        yv.ne[4] = Q;
        yv.nb[4] = y->nb[4] * r;
        job_tensors(&j, x, weight, bias, NULL, &yv);
        if (M == 0)
            j.w_off = 0;
        if ((rc = run_conv(gpu, &j)))
            return rc;
    }
    return VKR_OK;
}
