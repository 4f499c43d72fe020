/* Model parameters on the device: checkpoint tensors (model/weights.h) fetched
 * by name with a shape check, converted on the host and uploaded into the
 * weights arena in the model's storage dtype; plus the two parameter groups
 * every network uses, nn.Linear and nn.LayerNorm.
 *
 * Device layout: a checkpoint tensor of shape (d0, .., dk) becomes a 5-D
 * tensor with the dims right-aligned: Linear weight (out, in) ->
 * {1, 1, 1, out, in} (what vkr_op_linear takes), a bias or norm vector (C) ->
 * {1, 1, 1, 1, C}, an embedding table (V, D) -> {1, 1, 1, V, D}. */
#ifndef VKR_NN_PARAM_H
#define VKR_NN_PARAM_H

#include "common/status.h"
#include "gpu/ops_matmul.h"
#include "model/weights.h"

#include <stdbool.h>

/* Fetches `name` (shape dims[0..ndim), -1 = any, ndim <= 5), marks it used and
 * uploads it as a new weight tensor of storage `dtype` (F32, F16 or BF16). */
int vkr_param_load(vkr_gpu *gpu, vkr_weights *w, const char *name, vkr_dtype dtype, int ndim,
                   const int64_t *dims, vkr_tensor *out);
/* The same with a printf-formatted name:
 *   vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(d, d), &t, "%s.q_proj.weight", prefix); */
int vkr_param_loadf(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, int ndim, const int64_t *dims,
                    vkr_tensor *out, const char *fmt, ...) VKR_PRINTF(7, 8);

/* torch.nn.Linear(in, out): weight {1, 1, 1, out, in}, bias {1, 1, 1, 1, out}. */
typedef struct {
    vkr_tensor weight, bias;
    bool has_bias;
    int64_t in, out;
} vkr_linear;

/* Loads "<prefix>.weight" (out, in) and, when has_bias, "<prefix>.bias" (out). */
int vkr_linear_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t in,
                    int64_t out, bool has_bias, vkr_linear *lin);
/* y = act(x . W^T + b) + residual: x [.., in] -> y [.., out] (any leading dims,
 * views allowed). act VKR_UNARY_IDENTITY for none; residual NULL for none. */
int vkr_linear_forward(vkr_gpu *gpu, const vkr_linear *lin, const vkr_tensor *x, vkr_unary_op act,
                       const vkr_tensor *residual, const vkr_tensor *y);

/* torch.nn.LayerNorm(dim, eps) with elementwise affine. */
typedef struct {
    vkr_tensor weight, bias;
    int64_t dim;
    float eps;
} vkr_layer_norm;

/* Loads "<prefix>.weight" and "<prefix>.bias", both (dim). */
int vkr_layer_norm_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t dim,
                        float eps, vkr_layer_norm *ln);
/* y = LayerNorm(x) over the last dim (y may be x). */
int vkr_layer_norm_forward(vkr_gpu *gpu, const vkr_layer_norm *ln, const vkr_tensor *x, const vkr_tensor *y);

/* transformers / diffusers activation names ("gelu", "quick_gelu",
 * "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh") ->
 * the fused-activation id; VKR_E_DATA naming `what` for anything else. */
int vkr_activation_from_name(const char *name, const char *what, vkr_unary_op *op);

#endif
