/* Checkpoint tensors -> device weights; Linear and LayerNorm parameter groups. */
#include "nn/param.h"

#include "gpu/ops_norm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 512

int vkr_param_load(vkr_gpu *gpu, vkr_weights *w, const char *name, vkr_dtype dtype, int ndim,
                   const int64_t *dims, vkr_tensor *out)
{
    const vkr_st_tensor *st;
    float *host = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (ndim < 1 || ndim > VKR_DIMS)
        return vkr_fail(VKR_E_INTERNAL, "vkr_param_load: '%s' has %d dims (1..5 supported)", name, ndim);
    if ((rc = vkr_weights_get(w, name, ndim, dims, &st)))
        return rc;
    /* The checkpoint's real extents (dims may hold -1 wildcards), right-aligned. */
    int64_t ne[VKR_DIMS] = {1, 1, 1, 1, 1};
    for (int i = 0; i < ndim; i++)
        ne[VKR_DIMS - ndim + i] = st->shape[i];
    if ((rc = vkr_weights_load_f32(w, name, ndim, dims, &host)))
        return rc;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, dtype, ne, out)) ||
        (rc = vkr_tensor_upload(gpu, out, host, VKR_F32)))
        rc = vkr_fail_context(rc, "%s: tensor '%s'", vkr_weights_name(w), name);
    free(host);
    return rc;
}

int vkr_param_loadf(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, int ndim, const int64_t *dims,
                    vkr_tensor *out, const char *fmt, ...)
{
    char name[NAME_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return vkr_fail(VKR_E_INTERNAL, "vkr_param_loadf: tensor name too long");
    return vkr_param_load(gpu, w, name, dtype, ndim, dims, out);
}

int vkr_linear_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t in,
                    int64_t out, bool has_bias, vkr_linear *lin)
{
    int rc;
    memset(lin, 0, sizeof *lin);
    lin->in = in;
    lin->out = out;
    lin->has_bias = has_bias;
    if ((rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(out, in), &lin->weight, "%s.weight", prefix)))
        return rc;
    if (has_bias && (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(out), &lin->bias, "%s.bias", prefix)))
        return rc;
    return VKR_OK;
}

int vkr_linear_forward(vkr_gpu *gpu, const vkr_linear *lin, const vkr_tensor *x, vkr_unary_op act,
                       const vkr_tensor *residual, const vkr_tensor *y)
{
    vkr_matmul_epilogue ep = {
        .bias = lin->has_bias ? &lin->bias : NULL,
        .act = act,
        .residual = residual,
    };
    return vkr_op_linear_ex(gpu, x, &lin->weight, &ep, y);
}

int vkr_layer_norm_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t dim,
                        float eps, vkr_layer_norm *ln)
{
    int rc;
    memset(ln, 0, sizeof *ln);
    ln->dim = dim;
    ln->eps = eps;
    if ((rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(dim), &ln->weight, "%s.weight", prefix)) ||
        (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(dim), &ln->bias, "%s.bias", prefix)))
        return rc;
    return VKR_OK;
}

int vkr_layer_norm_forward(vkr_gpu *gpu, const vkr_layer_norm *ln, const vkr_tensor *x, const vkr_tensor *y)
{
    return vkr_op_layer_norm(gpu, x, &ln->weight, &ln->bias, ln->eps, y);
}

int vkr_activation_from_name(const char *name, const char *what, vkr_unary_op *op)
{
    static const struct {
        const char *name;
        vkr_unary_op op;
    } table[] = {
        {"gelu", VKR_UNARY_GELU_ERF},           /* transformers ACT2FN["gelu"]: exact erf form */
        {"quick_gelu", VKR_UNARY_QUICK_GELU},   /* x * sigmoid(1.702 x) */
        {"gelu_new", VKR_UNARY_GELU_TANH},      /* tanh approximation */
        {"gelu_pytorch_tanh", VKR_UNARY_GELU_TANH},
        {"relu", VKR_UNARY_RELU},
        {"silu", VKR_UNARY_SILU},
        {"swish", VKR_UNARY_SILU},
        {"tanh", VKR_UNARY_TANH},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (name && strcmp(name, table[i].name) == 0) {
            *op = table[i].op;
            return VKR_OK;
        }
    return vkr_fail(VKR_E_DATA, "%s: unsupported activation \"%s\"", what, name ? name : "(null)");
}
