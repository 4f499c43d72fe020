#include "nn/vae_attention.h"

#include "common/status.h"
#include "gpu/kernel.h"
#include "gpu/ops_conv.h"
#include "gpu/ops_matmul.h"
#include "gpu/ops_norm.h"
#include "nn/param.h"

#include <math.h>
#include <stdio.h>

/* One projection: diffusers name, else the legacy one; (C, C) or (C, C, 1, 1). */
static int load_proj(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, const char *name,
                     const char *legacy, int c, vkr_tensor *weight, vkr_tensor *bias)
{
    char full[256];
    snprintf(full, sizeof full, "%s.%s.weight", prefix, name);
    const char *use = name;
    if (!vkr_weights_find(w, full)) {
        char old[256];
        snprintf(old, sizeof old, "%s.%s.weight", prefix, legacy);
        if (vkr_weights_find(w, old))
            use = legacy;
    }
    snprintf(full, sizeof full, "%s.%s.weight", prefix, use);
    const vkr_st_tensor *st = vkr_weights_find(w, full);
    const int64_t ne[VKR_DIMS] = {1, c, c, 1, 1};
    int rc = st && st->ndim == 4 ? vkr_param_load(gpu, w, full, dtype, VKR_SHAPE(c, c, 1, 1), weight)
                                 : vkr_param_load(gpu, w, full, dtype, VKR_SHAPE(c, c), weight);
    /* (C_out, C_in) is also the 1x1 conv weight {1, C_out, C_in, 1, 1} */
    if (!rc)
        rc = vkr_tensor_reshape(weight, ne, weight);
    return rc ? rc : vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(c), bias, "%s.%s.bias", prefix, use);
}

int vkr_vae_attention_load(vkr_gpu *gpu, vkr_weights *w, const char *prefix, const vkr_vae_attention_config *cfg,
                           vkr_dtype dtype, vkr_vae_attention *att)
{
    *att = (vkr_vae_attention){.cfg = *cfg};
    vkr_vae_attention_config *c = &att->cfg;
    if (!c->heads)
        c->heads = 1;
    if (!c->rescale_output_factor)
        c->rescale_output_factor = 1.0f;
    if (c->channels <= 0 || c->groups <= 0 || c->channels % c->groups || c->channels % c->heads)
        return vkr_fail(VKR_E_DATA, "%s: attention over %d channels cannot use %d groups / %d heads", prefix,
                        c->channels, c->groups, c->heads);
    int ch = c->channels, rc;
    if ((rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(ch), &att->group_norm_weight, "%s.group_norm.weight", prefix)) ||
        (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(ch), &att->group_norm_bias, "%s.group_norm.bias", prefix)) ||
        (rc = load_proj(gpu, w, dtype, prefix, "to_q", "query", ch, &att->to_q_weight, &att->to_q_bias)) ||
        (rc = load_proj(gpu, w, dtype, prefix, "to_k", "key", ch, &att->to_k_weight, &att->to_k_bias)) ||
        (rc = load_proj(gpu, w, dtype, prefix, "to_v", "value", ch, &att->to_v_weight, &att->to_v_bias)) ||
        (rc = load_proj(gpu, w, dtype, prefix, "to_out.0", "proj_attn", ch, &att->to_out_weight, &att->to_out_bias)))
        return rc;
    return VKR_OK;
}

/* The [tokens, D] matrices of t {N, C, F, H, W} (C = heads * D) as the
 * batched view {N, F, heads, H*W, D} (transposed: {N, F, heads, D, H*W}).
 * t must be contiguous. */
static void token_view(const vkr_tensor *t, int heads, int transposed, vkr_tensor *v)
{
    int64_t n = t->ne[0], c = t->ne[1], f = t->ne[2], hw = t->ne[3] * t->ne[4], d = c / heads;
    *v = *t;
    v->ne[0] = n, v->nb[0] = c * f * hw;
    v->ne[1] = f, v->nb[1] = hw;
    v->ne[2] = heads, v->nb[2] = d * f * hw;
    if (!transposed) {
        v->ne[3] = hw, v->nb[3] = 1;
        v->ne[4] = d, v->nb[4] = f * hw;
    } else {
        v->ne[3] = d, v->nb[3] = f * hw;
        v->ne[4] = hw, v->nb[4] = 1;
    }
}

int vkr_vae_attention_forward(vkr_gpu *gpu, const vkr_vae_attention *att, const vkr_tensor *x, const vkr_tensor *y,
                              uint64_t score_budget_bytes)
{
    const vkr_vae_attention_config *c = &att->cfg;
    int64_t n = x->ne[0], f = x->ne[2], hw = x->ne[3] * x->ne[4], d = c->channels / c->heads;
    const int64_t xne[VKR_DIMS] = {n, c->channels, f, x->ne[3], x->ne[4]};
    vkr_tensor t = {0}, q = {0}, k = {0}, v = {0}, o = {0}, s = {0};
    int rc;
    if ((rc = vkr_check_shape("vae_attention", "x", x, xne)) || (rc = vkr_check_shape("vae_attention", "y", y, xne)) ||
        (rc = vkr_check_dtype("vae_attention", "y", y, x->dtype)))
        return rc;
    if (!score_budget_bytes)
        score_budget_bytes = 64ull << 20;
    /* Query rows per block: the scores of all (n, f, head) for `rows` queries
     * are n * f * heads * rows * hw f32 values. */
    uint64_t per_row = (uint64_t)n * f * c->heads * hw * sizeof(float);
    int64_t rows = (int64_t)(score_budget_bytes / (per_row ? per_row : 1));
    if (rows < 1)
        rows = 1;
    if (rows > hw)
        rows = hw;

    const vkr_group_norm_params gn = {.groups = c->groups, .eps = c->eps, .per_frame = 1};
    const vkr_conv2d_params k1 = {0};
    const int64_t sne[VKR_DIMS] = {n, f, c->heads, rows, hw};
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, xne, &t)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, xne, &q)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, xne, &k)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, xne, &v)) ||
        (rc = vkr_op_group_norm(gpu, x, &att->group_norm_weight, &att->group_norm_bias, &gn, &t)) ||
        (rc = vkr_op_conv2d(gpu, &t, &att->to_q_weight, &att->to_q_bias, NULL, &k1, &q)) ||
        (rc = vkr_op_conv2d(gpu, &t, &att->to_k_weight, &att->to_k_bias, NULL, &k1, &k)) ||
        (rc = vkr_op_conv2d(gpu, &t, &att->to_v_weight, &att->to_v_bias, NULL, &k1, &v)))
        goto fail;
    vkr_tensor_free(gpu, &t);
    /* Scores always in f32 (upcast_softmax): the VAE runs f32 activations
     * (force_upcast), where the matmul output has the activation dtype. */
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, xne, &o)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, sne, &s)))
        goto fail;
    vkr_tensor qv, ktv, vv, ov;
    token_view(&q, c->heads, 0, &qv);
    token_view(&k, c->heads, 1, &ktv);
    token_view(&v, c->heads, 0, &vv);
    token_view(&o, c->heads, 0, &ov);
    const vkr_matmul_epilogue scaled = {.scale = (float)(1.0 / sqrt((double)d))};
    for (int64_t r0 = 0; r0 < hw; r0 += rows) {
        int64_t len = hw - r0 < rows ? hw - r0 : rows;
        vkr_tensor qb, ob, sb;
        if ((rc = vkr_tensor_slice(&qv, 3, r0, len, &qb)) || (rc = vkr_tensor_slice(&ov, 3, r0, len, &ob)) ||
            (rc = vkr_tensor_slice(&s, 3, 0, len, &sb)) ||
            (rc = vkr_op_matmul(gpu, &qb, &ktv, &scaled, &sb)) ||
            (rc = vkr_op_softmax(gpu, &sb, NULL, 1.0f, &sb)) ||
            (rc = vkr_op_matmul(gpu, &sb, &vv, NULL, &ob)))
            goto fail;
    }
    vkr_tensor_free(gpu, &s);
    vkr_tensor_free(gpu, &q);
    vkr_tensor_free(gpu, &k);
    vkr_tensor_free(gpu, &v);
    /* y = (to_out(o) + x) / rescale_output_factor, all in the conv epilogue. */
    const vkr_conv2d_params kout = {.output_scale_factor = c->rescale_output_factor};
    rc = vkr_op_conv2d(gpu, &o, &att->to_out_weight, &att->to_out_bias, x, &kout, y);
fail:
    vkr_tensor_free(gpu, &t);
    vkr_tensor_free(gpu, &q);
    vkr_tensor_free(gpu, &k);
    vkr_tensor_free(gpu, &v);
    vkr_tensor_free(gpu, &o);
    vkr_tensor_free(gpu, &s);
    return rc;
}
