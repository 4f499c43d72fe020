/* Normalisation and reduction ops: group norm (whole, or two passes whose
 * statistics may span frame chunks), layer norm, softmax, L2 normalisation,
 * sum / mean along a dim. All are recorded (see gpu/gpu.h), accept strided
 * views, keep statistics in f32 and store F32, F16 or BF16 (the output has
 * the input's dtype; weights and masks may have any storage dtype). The
 * output may be the input tensor itself (in place).
 *
 * Numerics: group norm uses per-invocation Welford + Chan's parallel merge;
 * layer norm two passes (mean, then squared deviations); softmax subtracts
 * the row max. Variances are biased (divide by the count), as torch.
 *
 * Tensors larger than one binding window are split along the dims that are
 * not reduced (group norm: N, groups, frames; row ops: every dim but W); a
 * single reduction (one (n, group, frame) slot, one row) larger than a
 * window fails with VKR_E_DATA. */
#ifndef VKR_OPS_NORM_H
#define VKR_OPS_NORM_H

#include "gpu/tensor.h"

typedef struct {
    int groups;    /* G; C % G == 0 */
    float eps;     /* diffusers: 1e-5 (UNet), 1e-6 (VAE) */
    int per_frame; /* 1: statistics per (n, frame, group) over (C/G, H, W) -- spatial resnets, frames
                    *    folded into the batch; 0: per (n, group) over (C/G, F, H, W) -- all frames
                    *    (TemporalConvLayer, TransformerTemporalModel) */
    int silu;      /* 1: y = silu(norm(x)) (ResnetBlock's norm -> nonlinearity) */
} vkr_group_norm_params;

/* torch.nn.GroupNorm on x (N, C, F, H, W) with affine weight/bias, vectors of
 * C values (any dtype; both NULL: no affine). y has x's shape and dtype. */
int vkr_op_group_norm(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                      const vkr_group_norm_params *p, const vkr_tensor *y);

/* ---- two-pass group norm, for frame chunks (VAE decoder) ----
 * stats: an F32 tensor {N, G, F_total, 1, 3}: per (n, group, frame) slot the
 * Welford partial (count, mean, M2) over the group's channels and the frame's
 * H x W. Slots combine with Chan's formula, so processing the frames in chunks
 * gives the same statistics as processing them at once:
 *
 *   vkr_group_norm_stats_alloc(gpu, N, G, F_total, &st);
 *   for each chunk [f0, f0 + k): vkr_op_group_norm_stats(gpu, x_chunk, G, &st, f0);
 *   vkr_op_group_norm_combine(gpu, &st, &all);          // optional, {N, G, 1, 1, 3}
 *   for each chunk: vkr_op_group_norm_apply(gpu, x_chunk, w, b, &all, f0, &p, y_chunk);
 */
int vkr_group_norm_stats_alloc(vkr_gpu *gpu, int64_t n, int groups, int64_t frames, vkr_tensor *stats);
/* Writes the slots of frames [frame0, frame0 + x.ne[F]) of stats. */
int vkr_op_group_norm_stats(vkr_gpu *gpu, const vkr_tensor *x, int groups, const vkr_tensor *stats, int64_t frame0);
/* Combines all frame slots of stats {N, G, F, 1, 3} into combined {N, G, 1, 1, 3} (F32). */
int vkr_op_group_norm_combine(vkr_gpu *gpu, const vkr_tensor *stats, const vkr_tensor *combined);
/* Normalises the chunk x (frames frame0 .. frame0 + x.ne[F] - 1 of the whole)
 * into y. stats with one frame slot (combined) is used for every frame;
 * otherwise p->per_frame picks slot frame0 + f, and !p->per_frame combines all
 * slots first (a small extra dispatch per call: combine once and pass the
 * result when applying many chunks). */
int vkr_op_group_norm_apply(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                            const vkr_tensor *stats, int64_t frame0, const vkr_group_norm_params *p,
                            const vkr_tensor *y);

/* torch.nn.LayerNorm over the last dim (W; tokens x channels is ne = {1, 1, 1, T, C}).
 * weight/bias: vectors of W values, or both NULL (elementwise_affine=False). */
int vkr_op_layer_norm(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                      float eps, const vkr_tensor *y);

/* y = softmax(x * scale + mask) over the last dim, max-subtracted. mask may be
 * NULL or broadcast to x (dims of extent 1), any dtype (-inf allowed). */
int vkr_op_softmax(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *mask, float scale, const vkr_tensor *y);

/* y = x / max(||x||_2, eps) along the last dim (F.normalize(x, dim=-1); eps 1e-12). */
int vkr_op_l2_normalize(vkr_gpu *gpu, const vkr_tensor *x, float eps, const vkr_tensor *y);

/* y = sum / mean of x along dim; y has x's shape with extent 1 in dim (keepdim). */
int vkr_op_sum(vkr_gpu *gpu, const vkr_tensor *x, int dim, const vkr_tensor *y);
int vkr_op_mean(vkr_gpu *gpu, const vkr_tensor *x, int dim, const vkr_tensor *y);

#endif
