/* Uploading checkpoint tensors as device weights, and nn.Linear, for the
 * UNet blocks (nn/transformer.c, nn/temporal_conv.c, video/unet3d*.c).
 *
 * A checkpoint tensor of shape (d0, .., dk) becomes a 5-D weight tensor with
 * the dims right-aligned: Linear (out, in) -> {1, 1, 1, out, in} (what
 * vkr_op_linear takes), Conv2d (O, C, kh, kw) -> {1, O, C, kh, kw} (conv2d),
 * Conv3d (O, C, kt, 1, 1) -> {O, C, kt, 1, 1} (temporal conv), a vector (C)
 * -> {1, 1, 1, 1, C}. Values are converted on the host to the requested
 * storage dtype (f32, or f16/bf16 for real checkpoints on GPUs). */
#ifndef VKR_NN_PARAM_UNET_H
#define VKR_NN_PARAM_UNET_H

#include "common/status.h"
#include "gpu/ops_matmul.h"
#include "model/weights.h"

#include <stdbool.h>

/* Fetches the tensor named by fmt (shape dims[0..ndim), ndim <= 5), marks it
 * used and uploads it into a new weights-arena tensor of `dtype`. */
int vkr_nn_param(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, int ndim, const int64_t *dims, vkr_tensor *out,
                 const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* torch.nn.Linear(in, out). A 1x1 Conv2d (out, in, 1, 1) loads as the same
 * Linear (Transformer2DModel's proj_in/proj_out without use_linear_projection). */
typedef struct {
    vkr_tensor weight, bias;
    bool has_bias;
    int64_t in, out;
} vkr_nn_linear;

/* Loads "<prefix>.weight" (out, in) or (out, in, 1, 1), and "<prefix>.bias" when has_bias. */
int vkr_nn_linear_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t in, int64_t out,
                       bool has_bias, vkr_nn_linear *lin);
/* y = act(x . W^T + b) + residual (x [.., in], y [.., out], residual NULL or y's shape). */
int vkr_nn_linear_forward(vkr_gpu *gpu, const vkr_nn_linear *lin, const vkr_tensor *x, vkr_unary_op act,
                          const vkr_tensor *residual, const vkr_tensor *y);

/* A GroupNorm / LayerNorm affine pair "<prefix>.weight", "<prefix>.bias", both (c). */
typedef struct {
    vkr_tensor weight, bias;
} vkr_nn_affine;
int vkr_nn_affine_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t c,
                       vkr_nn_affine *a);

/* The {1, 1, 1, 1, n} shape of a vector: used for views of 1-D parameters. */
#endif
