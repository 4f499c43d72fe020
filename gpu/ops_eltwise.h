/* Elementwise ops: unary activations, a*x+b, binary arithmetic with
 * broadcasting, and copy/convert (which also implements permute, slice and
 * concat materialisation). All are recorded (see gpu/gpu.h), accept any strides
 * (views), compute in f32 and store F32, F16 or BF16. Operands may be larger
 * than one binding window (work is split automatically).
 *
 * Shapes: out defines the index space; every input dim must equal out's or be 1
 * (broadcast). `out` may be the same tensor as an input (in place) but must not
 * otherwise overlap one. */
#ifndef VKR_OPS_ELTWISE_H
#define VKR_OPS_ELTWISE_H

#include "gpu/tensor.h"

/* Ids shared with shaders/eltwise_unary.comp (specialization constant OP). */
typedef enum {
    VKR_UNARY_IDENTITY = 0,    /* copy / convert */
    VKR_UNARY_SCALE_SHIFT = 1, /* p0 * x + p1 */
    VKR_UNARY_SILU = 2,
    VKR_UNARY_GELU_ERF = 3,    /* torch GELU(approximate="none") */
    VKR_UNARY_GELU_TANH = 4,   /* torch GELU(approximate="tanh") */
    VKR_UNARY_QUICK_GELU = 5,  /* x * sigmoid(1.702 x) (CLIP) */
    VKR_UNARY_RELU = 6,
    VKR_UNARY_LEAKY_RELU = 7,  /* slope p0 */
    VKR_UNARY_TANH = 8,
    VKR_UNARY_SIGMOID = 9,
    VKR_UNARY_FILL = 10,       /* p0 everywhere (x is not read) */
    VKR_UNARY_CLAMP = 11,      /* min(max(x, p0), p1) (torch.clamp; the VAE's logvar) */
    VKR_UNARY_COUNT
} vkr_unary_op;

/* Ids shared with shaders/eltwise_binary.comp. */
typedef enum {
    VKR_BINARY_ADD = 0,
    VKR_BINARY_SUB = 1,
    VKR_BINARY_MUL = 2,
    VKR_BINARY_DIV = 3,
    VKR_BINARY_COUNT
} vkr_binary_op;

const char *vkr_unary_name(vkr_unary_op op);
const char *vkr_binary_name(vkr_binary_op op);

/* out = f(x) (p0, p1: parameters, see vkr_unary_op). x may broadcast to out. */
int vkr_op_unary(vkr_gpu *gpu, vkr_unary_op op, const vkr_tensor *x, const vkr_tensor *out, float p0, float p1);

/* out = a (op) b; a and b may broadcast to out. out must have a's dtype; b may
 * have any storage dtype. */
int vkr_op_binary(vkr_gpu *gpu, vkr_binary_op op, const vkr_tensor *a, const vkr_tensor *b, const vkr_tensor *out);

/* Convenience wrappers. */
int vkr_op_add(vkr_gpu *gpu, const vkr_tensor *a, const vkr_tensor *b, const vkr_tensor *out);
int vkr_op_mul(vkr_gpu *gpu, const vkr_tensor *a, const vkr_tensor *b, const vkr_tensor *out);
int vkr_op_scale_shift(vkr_gpu *gpu, const vkr_tensor *x, float scale, float shift, const vkr_tensor *out);
int vkr_op_silu(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out);
int vkr_op_gelu(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out);      /* erf */
int vkr_op_gelu_tanh(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out);
int vkr_op_quick_gelu(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out);
int vkr_op_relu(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out);
int vkr_op_leaky_relu(vkr_gpu *gpu, const vkr_tensor *x, float slope, const vkr_tensor *out);
int vkr_op_tanh(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *out);

/* Every element of out (any view) = value. */
int vkr_op_fill(vkr_gpu *gpu, const vkr_tensor *out, float value);

/* out = clamp(x, lo, hi). */
int vkr_op_clamp(vkr_gpu *gpu, const vkr_tensor *x, float lo, float hi, const vkr_tensor *out);

/* dst = src with dtype conversion; same shape (or src broadcast), any strides.
 * Permute: copy a permuted view. Slice: copy a slice view. */
int vkr_op_copy(vkr_gpu *gpu, const vkr_tensor *src, const vkr_tensor *dst);

/* out = concat(a, b) along dim: copies into the two slices of out. */
int vkr_op_concat(vkr_gpu *gpu, const vkr_tensor *a, const vkr_tensor *b, int dim, const vkr_tensor *out);

#endif
