/* Small ops: nearest upsampling, sinusoidal timestep embedding, embedding
 * lookup, and the video layout changes (frames <-> batch <-> temporal tokens)
 * and slice copies built on the elementwise copy kernel. All are recorded
 * (see gpu/gpu.h) and store F32, F16 or BF16 (output dtype = input dtype). */
#ifndef VKR_OPS_MISC_H
#define VKR_OPS_MISC_H

#include "gpu/tensor.h"

/* y (N, C, F, Ho, Wo) = x (N, C, F, H, W) upsampled over H and W by nearest
 * neighbour, F.interpolate(mode="nearest", size=(Ho, Wo)): src = dst >> 1 for
 * exact 2x (diffusers Upsample2D's scale_factor=2), else
 * min(floor(dst * f32(H / Ho)), H - 1) in f32 as ATen. N, C, F must match;
 * any strides. Split along N, C, F when larger than a binding window. */
int vkr_op_upsample_nearest(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *y);

typedef struct {
    int flip_sin_to_cos;        /* 1: [cos, sin] (the UNets), 0: [sin, cos] */
    float downscale_freq_shift; /* 0 for the UNets (diffusers Timesteps(..., 0)) */
    float max_period;           /* 0: 10000 */
    float scale;                /* 0: 1 */
} vkr_timestep_params;

/* diffusers get_timestep_embedding: t is an F32 vector of N timesteps (any
 * dim, may differ per element), y is {1, 1, 1, N, dim} (any storage dtype):
 * half = dim / 2, freq_i = exp(-ln(max_period) * i / (half - shift)),
 * y[n] = [sin(t freq), cos(t freq)] (flipped: [cos, sin]), a zero column when
 * dim is odd. f32 arithmetic in torch's order; sin/cos/exp evaluated to ~1 ulp
 * (not the GPU built-ins) because arguments reach ~1000 rad. */
int vkr_op_timestep_embedding(vkr_gpu *gpu, const vkr_tensor *t, const vkr_timestep_params *p, const vkr_tensor *y);

/* Uploads n token ids (host int32 or int64, id_dtype VKR_I32 / VKR_I64) into
 * a new device tensor *out ({1, 1, 1, 1, n}, 4-byte elements holding int32;
 * free with vkr_tensor_free). Every id must be in [0, vocab): VKR_E_DATA
 * otherwise (so the kernel never reads outside the table). */
int vkr_embedding_ids_upload(vkr_gpu *gpu, const void *ids, vkr_dtype id_dtype, int64_t n, int64_t vocab,
                             vkr_tensor *out);

/* y[r, :] = table[ids[r], :] (+ pos[r % T, :]): table {1, 1, 1, vocab, dim},
 * y {1, 1, B, T, dim} with B * T ids (from vkr_embedding_ids_upload), pos NULL
 * or {1, 1, 1, >= T, dim} (CLIP's position_embedding, position_ids = arange).
 * y has the table's dtype; pos any. A table larger than one binding window
 * (CLIP's 49408 x 1024 in f32 is 202 MB) is processed in row windows, one
 * dispatch each. */
int vkr_op_embedding(vkr_gpu *gpu, const vkr_tensor *ids, const vkr_tensor *table, const vkr_tensor *pos,
                     const vkr_tensor *y);

/* ---- video layouts ----
 * The UNet3D keeps a video as (N, C, F, H, W); its spatial layers see frames
 * folded into the batch (diffusers: sample.permute(0, 2, 1, 3, 4).reshape(N*F,
 * C, H, W)) and its temporal attention sees one sequence of F tokens per pixel
 * (TransformerTemporalModel: (N*F, C, H, W) -> (N*H*W, F, C)). */
typedef enum {
    VKR_VIDEO_NCFHW = 0,       /* {N, C, F, H, W} */
    VKR_VIDEO_BATCH_FRAMES,    /* {N*F, C, 1, H, W}: index n*F + f */
    VKR_VIDEO_TEMPORAL_TOKENS, /* {1, 1, N*H*W, F, C}: sequence index (n*H + h)*W + w */
} vkr_video_layout;

/* A strided (N, C, F, H, W) view (video_ne) of t, which is stored in `layout`
 * (with any strides). No copy: feed it to an op that accepts views, or copy. */
int vkr_video_view(const vkr_tensor *t, vkr_video_layout layout, const int64_t video_ne[5], vkr_tensor *view);

/* dst (dst_layout) = src (src_layout) for a video of extents video_ne =
 * {N, C, F, H, W}: both become (N, C, F, H, W) views and vkr_op_copy moves the
 * data (with dtype conversion if the dtypes differ). */
int vkr_op_video_relayout(vkr_gpu *gpu, const vkr_tensor *src, vkr_video_layout src_layout, const vkr_tensor *dst,
                          vkr_video_layout dst_layout, const int64_t video_ne[5]);

/* dst = x[start : start + len] along dim (dst has x's extents, len in dim). */
int vkr_op_slice_copy(vkr_gpu *gpu, const vkr_tensor *x, int dim, int64_t start, int64_t len, const vkr_tensor *dst);
/* Concatenation along a dim: vkr_op_concat() in gpu/ops_eltwise.h. */

#endif
