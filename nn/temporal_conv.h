/* diffusers TemporalConvLayer (UNet3D): four (GroupNorm -> SiLU -> [Dropout]
 * -> Conv3d kernel (3, 1, 1), padding (1, 0, 0)) stages and a residual:
 *   y = x + conv4(conv3(conv2(conv1(x))))
 * on (N, C, F, H, W). The GroupNorm statistics span all frames (torch sees the
 * 5-D tensor), eps 1e-5 (torch default). in_dim == out_dim (as the UNet uses it). */
#ifndef VKR_NN_TEMPORAL_CONV_H
#define VKR_NN_TEMPORAL_CONV_H

#include "nn/param.h"

typedef struct {
    int64_t channels;
    int groups;
    vkr_tensor norm_weight[4], norm_bias[4]; /* GroupNorm (C) */
    vkr_tensor conv_weight[4], conv_bias[4]; /* {O, C, 3, 1, 1}, {1, 1, 1, 1, O} */
} vkr_temporal_conv;

int vkr_temporal_conv_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t channels,
                           int groups, vkr_temporal_conv *tc);
/* out = layer(x); out must not overlap x. */
int vkr_temporal_conv_forward(vkr_gpu *gpu, const vkr_temporal_conv *tc, const vkr_tensor *x, const vkr_tensor *out);

#endif
