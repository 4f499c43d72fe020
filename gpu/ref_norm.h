/* Plain-C references (double precision, two-pass statistics) for the
 * normalisation / reduction family (gpu/ops_norm.h). Tensors are host views
 * (gpu/ref.h); vectors (weight, bias) are plain arrays, NULL = no affine. */
#ifndef VKR_REF_NORM_H
#define VKR_REF_NORM_H

#include "gpu/ref.h"

/* torch.nn.GroupNorm over (C/G, H, W) per (n, f, group) when per_frame, else
 * over (C/G, F, H, W) per (n, group); then optional SiLU. */
void vkr_ref_group_norm(const vkr_host_tensor *x, const float *weight, const float *bias, int groups, double eps,
                        int per_frame, int silu, const vkr_host_tensor *y);
/* torch.nn.LayerNorm over the last dim. */
void vkr_ref_layer_norm(const vkr_host_tensor *x, const float *weight, const float *bias, double eps,
                        const vkr_host_tensor *y);
/* softmax(x * scale + mask) over the last dim; mask may be NULL or broadcast. */
void vkr_ref_softmax(const vkr_host_tensor *x, const vkr_host_tensor *mask, double scale, const vkr_host_tensor *y);
/* x / max(||x||_2, eps) over the last dim. */
void vkr_ref_l2_normalize(const vkr_host_tensor *x, double eps, const vkr_host_tensor *y);
/* sum (mean = 0) or mean over dim; y has extent 1 there. */
void vkr_ref_reduce(const vkr_host_tensor *x, int dim, int mean, const vkr_host_tensor *y);

#endif
