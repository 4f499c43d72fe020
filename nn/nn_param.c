#include "nn/nn_param.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int upload(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, int ndim, const int64_t *dims, vkr_tensor *out,
                  const char *name)
{
    if (ndim < 1 || ndim > VKR_DIMS)
        return vkr_fail(VKR_E_INTERNAL, "weight '%s': %d dims (1..5 supported)", name, ndim);
    const vkr_st_tensor *st;
    int rc = vkr_weights_get(w, name, ndim, dims, &st);
    if (rc)
        return rc;
    int64_t ne[VKR_DIMS] = {1, 1, 1, 1, 1};
    for (int i = 0; i < st->ndim; i++)
        ne[VKR_DIMS - st->ndim + i] = st->shape[i];
    float *host = NULL;
    if ((rc = vkr_weights_load_f32(w, name, ndim, dims, &host)))
        return rc;
    if (!(rc = vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, dtype, ne, out)))
        rc = vkr_tensor_upload(gpu, out, host, VKR_F32);
    free(host);
    return rc;
}

int vkr_nn_param(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, int ndim, const int64_t *dims, vkr_tensor *out,
                 const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return vkr_fail(VKR_E_INTERNAL, "weight name too long");
    return upload(gpu, w, dtype, ndim, dims, out, name);
}

int vkr_nn_linear_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t in, int64_t out,
                       bool has_bias, vkr_nn_linear *lin)
{
    char name[512];
    snprintf(name, sizeof name, "%s.weight", prefix);
    const vkr_st_tensor *st = vkr_weights_find(w, name);
    int rc;
    lin->in = in;
    lin->out = out;
    lin->has_bias = has_bias;
    /* A 1x1 conv has the Linear's bytes; load it with the Linear's device shape. */
    if (st && st->ndim == 4)
        rc = vkr_nn_param(gpu, w, dtype, VKR_SHAPE(out, in, 1, 1), &lin->weight, "%s", name);
    else
        rc = vkr_nn_param(gpu, w, dtype, VKR_SHAPE(out, in), &lin->weight, "%s", name);
    if (rc)
        return rc;
    if (st && st->ndim == 4) {
        const int64_t ne[VKR_DIMS] = {1, 1, 1, out, in};
        if ((rc = vkr_tensor_reshape(&lin->weight, ne, &lin->weight)))
            return rc;
    }
    if (has_bias)
        return vkr_nn_param(gpu, w, dtype, VKR_SHAPE(out), &lin->bias, "%s.bias", prefix);
    return VKR_OK;
}

int vkr_nn_linear_forward(vkr_gpu *gpu, const vkr_nn_linear *lin, const vkr_tensor *x, vkr_unary_op act,
                          const vkr_tensor *residual, const vkr_tensor *y)
{
    vkr_matmul_epilogue ep = {.bias = lin->has_bias ? &lin->bias : NULL, .act = act, .residual = residual};
    return vkr_op_linear_ex(gpu, x, &lin->weight, &ep, y);
}

int vkr_nn_affine_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t c,
                       vkr_nn_affine *a)
{
    int rc = vkr_nn_param(gpu, w, dtype, VKR_SHAPE(c), &a->weight, "%s.weight", prefix);
    if (!rc)
        rc = vkr_nn_param(gpu, w, dtype, VKR_SHAPE(c), &a->bias, "%s.bias", prefix);
    return rc;
}
