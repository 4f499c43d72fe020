/* Convolutions: conv2d (UNet3D / VAE resnets, up/downsamplers), the UNet3D
 * temporal conv (Conv3d kernel (3,1,1), padding (1,0,0)), conv1d with dilation
 * (HiFi-GAN resblocks) and conv_transpose1d (HiFi-GAN upsamplers). groups = 1.
 * All are one implicit-GEMM kernel (shaders/conv.comp): no im2col buffer,
 * f32 accumulation, f32/f16/bf16 storage. Recorded, like every op.
 *
 * Layouts (ne = {N, C, F, H, W}, W fastest; any strides for x, y, residual):
 *   conv2d:    x {N, C, F, H, W} -> y {N, O, F, Ho, Wo}. Frames are folded into
 *              the batch through x's strides (no permute copy): the UNet3D's
 *              (N, C, F, H, W) activations go in as they are. An image batch
 *              is {N, C, 1, H, W}.
 *              weight (O, C, KH, KW) as ne {1, O, C, KH, KW}, contiguous.
 *   temporal:  x {N, C, F, H, W} -> y {N, O, F, H, W}; weight (O, C, KT, 1, 1)
 *              as ne {O, C, KT, 1, 1}, contiguous; padding ((KT-1)/2, 0, 0).
 *   1-D:       signals (N, C, L) are ne {N, C, 1, 1, L}. A right-aligned
 *              {1, 1, N, C, L} tensor becomes that with the free view
 *              vkr_tensor_permute(t, {2, 3, 0, 1, 4}).
 *              conv1d weight (O, C, K) as ne {1, 1, O, C, K};
 *              conv_transpose1d weight (C, O, K) as ne {1, 1, C, O, K}; contiguous.
 *   bias:      O contiguous values (any ne with O elements), or NULL.
 *   residual:  NULL, or y's shape AND strides, x's dtype.
 * Output extent: (in + pad_begin + pad_end - dilation * (k - 1) - 1) / stride + 1
 * (vkr_conv_out_extent); conv_transpose1d: (L - 1) * stride - 2 * padding + K.
 *
 * Dtypes: x, residual and y share one storage dtype; weight and bias share one
 * (may differ from x's, e.g. f16 weights on f32 activations).
 *
 * Speed: a workgroup computes 32 output channels (fewer when O <= 16) x 256
 * pixels, each invocation 32 x 4 in registers; weights are staged per 8 input
 * channels in shared memory and read by all invocations at the same address.
 * On lavapipe every lane-varying load is a per-lane loop, which bounds this
 * (and every other) kernel at ~5-10 % of PyTorch CPU; see the conv section of
 * the lead's docs/performance.md for measurements and what was tried.
 *
 * Large tensors: when x, y or the residual do not fit one binding window, the
 * output is cut along N, then F, then H, then W (halving, recursively), and each
 * piece binds only the input rows/frames it reads (with the halo). Channels are
 * never split, so with channels-first layouts only the N cut shrinks a window
 * much: one batch item (all its channels) of x and of y must fit a window, or
 * the op fails with VKR_E_DATA. That holds for every model tensor on lavapipe
 * (128 MiB window; the largest per-frame VAE activation, 128 x 320 x 576 f32, is
 * 94 MB) when frames are passed as the batch N, as the VAE does. The weight and
 * bias must each fit one window (never split): the largest model conv weight
 * (VAE 512x512x3x3 f32) is 9.4 MB. */
#ifndef VKR_OPS_CONV_H
#define VKR_OPS_CONV_H

#include "gpu/tensor.h"

typedef struct {
    int stride_h, stride_w; /* 0 = 1 */
    /* Padding per side: symmetric padding p is {p, p, p, p}; the SD VAE
     * encoder's Downsample2D (F.pad(x, (0, 1, 0, 1)) then 3x3 stride 2 pad 0)
     * is pad_bottom = pad_right = 1, the others 0. */
    int pad_top, pad_bottom, pad_left, pad_right;
    /* y = (conv(x) + bias + residual) / output_scale_factor (the resnet output
     * "(input_tensor + hidden_states) / output_scale_factor"); 0 = 1. */
    float output_scale_factor;
} vkr_conv2d_params;

typedef struct {
    int stride;   /* 0 = 1 */
    int dilation; /* 0 = 1 */
    int padding;  /* both ends (HiFi-GAN: dilation * (k - 1) / 2) */
    /* leaky_relu(x, input_slope) applied to the input as it is read (HiFi-GAN
     * applies it before every conv); the padding stays 0. */
    int input_leaky_relu;
    float input_slope;
} vkr_conv1d_params;

/* floor((in + pad_begin + pad_end - dilation * (k - 1) - 1) / stride) + 1; <= 0
 * when the kernel does not fit. */
int64_t vkr_conv_out_extent(int64_t in, int k, int stride, int dilation, int pad_begin, int pad_end);

int vkr_op_conv2d(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                  const vkr_tensor *residual, const vkr_conv2d_params *params, const vkr_tensor *y);

/* TemporalConvLayer's Conv3d(kernel (KT,1,1), padding ((KT-1)/2,0,0)), KT odd:
 * y[n,o,f] = bias[o] + residual + sum_{i,dt} w[o,i,dt] x[n,i,f+dt-(KT-1)/2]
 * (zero outside the frames). residual may be NULL (the layer's final
 * "identity + hidden_states" can be fused here). */
int vkr_op_conv_temporal(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                         const vkr_tensor *residual, const vkr_tensor *y);

int vkr_op_conv1d(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                  const vkr_conv1d_params *params, const vkr_tensor *y);

/* torch conv_transpose1d(x, w, bias, stride, padding), output_padding 0:
 * y[n,o,l] = bias[o] + sum_{i,t: l = j*stride - padding + t} w[i,o,t] x[n,i,j].
 * Computed as a gather (no atomics): one implicit GEMM per output phase
 * (l + padding) mod stride, each a stride-1 conv1d over x with the taps
 * t = phase, phase + stride, ... of w, writing every stride-th sample of y. */
int vkr_op_conv_transpose1d(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                            int stride, int padding, const vkr_tensor *y);

#endif
