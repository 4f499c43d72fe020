#include "nn/timestep_embedding.h"

#include <stdio.h>

int vkr_timestep_embedding_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t in_dim,
                                int64_t dim, const vkr_timestep_params *proj, vkr_unary_op act,
                                vkr_timestep_embedding *te)
{
    char p[512];
    int rc;
    te->in_dim = in_dim;
    te->dim = dim;
    te->proj = *proj;
    te->act = act;
    snprintf(p, sizeof p, "%s.linear_1", prefix);
    if ((rc = vkr_linear_load(gpu, w, dtype, p, in_dim, dim, true, &te->linear_1)))
        return rc;
    snprintf(p, sizeof p, "%s.linear_2", prefix);
    return vkr_linear_load(gpu, w, dtype, p, dim, dim, true, &te->linear_2);
}

int vkr_timestep_embedding_forward(vkr_gpu *gpu, const vkr_timestep_embedding *te, const vkr_tensor *t,
                                   const vkr_tensor *sinusoid, const vkr_tensor *emb)
{
    const int64_t n = vkr_tensor_nelem(t);
    const int64_t sne[VKR_DIMS] = {1, 1, 1, n, te->in_dim}, hne[VKR_DIMS] = {1, 1, 1, n, te->dim};
    vkr_tensor s = {0}, h = {0};
    int rc;
    if (!sinusoid) {
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, emb->dtype, sne, &s)))
            goto fail;
        sinusoid = &s;
    }
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, emb->dtype, hne, &h)) ||
        (rc = vkr_op_timestep_embedding(gpu, t, &te->proj, sinusoid)) ||
        (rc = vkr_linear_forward(gpu, &te->linear_1, sinusoid, te->act, NULL, &h)) ||
        (rc = vkr_linear_forward(gpu, &te->linear_2, &h, VKR_UNARY_IDENTITY, NULL, emb)))
        goto fail;
fail:
    vkr_tensor_free(gpu, &s);
    vkr_tensor_free(gpu, &h);
    return rc;
}
