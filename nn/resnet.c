#include "nn/resnet.h"

#include "common/status.h"
#include "gpu/kernel.h"
#include "gpu/ops_conv.h"
#include "gpu/ops_eltwise.h"
#include "gpu/ops_matmul.h"
#include "gpu/ops_norm.h"
#include "nn/param.h"

static int load_conv(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, const char *name, int out,
                     int in, int k, vkr_tensor *weight, vkr_tensor *bias)
{
    const int64_t dims[4] = {out, in, k, k}; /* -> {1, out, in, k, k}, the conv weight layout */
    int rc = vkr_param_loadf(gpu, w, dtype, 4, dims, weight, "%s.%s.weight", prefix, name);
    return rc ? rc : vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(out), bias, "%s.%s.bias", prefix, name);
}

int vkr_resnet_block2d_load(vkr_gpu *gpu, vkr_weights *w, const char *prefix, const vkr_resnet_config *cfg,
                            vkr_dtype dtype, vkr_resnet_block2d *blk)
{
    *blk = (vkr_resnet_block2d){.cfg = *cfg};
    vkr_resnet_config *c = &blk->cfg;
    if (!c->groups_out)
        c->groups_out = c->groups;
    if (!c->output_scale_factor)
        c->output_scale_factor = 1.0f;
    if (c->in_channels <= 0 || c->out_channels <= 0 || c->groups <= 0 || c->in_channels % c->groups ||
        c->out_channels % c->groups_out || c->temb_channels < 0)
        return vkr_fail(VKR_E_DATA, "%s: resnet with %d -> %d channels cannot use %d / %d groups", prefix,
                        c->in_channels, c->out_channels, c->groups, c->groups_out);
    int in = c->in_channels, out = c->out_channels, rc;
    blk->has_conv_shortcut = in != out;
    if ((rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(in), &blk->norm1_weight, "%s.norm1.weight", prefix)) ||
        (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(in), &blk->norm1_bias, "%s.norm1.bias", prefix)) ||
        (rc = load_conv(gpu, w, dtype, prefix, "conv1", out, in, 3, &blk->conv1_weight, &blk->conv1_bias)) ||
        (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(out), &blk->norm2_weight, "%s.norm2.weight", prefix)) ||
        (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(out), &blk->norm2_bias, "%s.norm2.bias", prefix)) ||
        (rc = load_conv(gpu, w, dtype, prefix, "conv2", out, out, 3, &blk->conv2_weight, &blk->conv2_bias)))
        return rc;
    if (c->temb_channels) {
        const int64_t dims[2] = {out, c->temb_channels};
        if ((rc = vkr_param_loadf(gpu, w, dtype, 2, dims, &blk->time_emb_proj_weight,
                                    "%s.time_emb_proj.weight", prefix)) ||
            (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(out), &blk->time_emb_proj_bias, "%s.time_emb_proj.bias", prefix)))
            return rc;
    }
    if (blk->has_conv_shortcut &&
        (rc = load_conv(gpu, w, dtype, prefix, "conv_shortcut", out, in, 1, &blk->conv_shortcut_weight,
                        &blk->conv_shortcut_bias)))
        return rc;
    return VKR_OK;
}

/* h += time_emb_proj(silu(temb)) broadcast over (F, H, W). */
static int add_time_embedding(vkr_gpu *gpu, const vkr_resnet_block2d *blk, const vkr_tensor *temb,
                              const vkr_tensor *h)
{
    const vkr_resnet_config *c = &blk->cfg;
    int64_t n = h->ne[0];
    const int64_t tne[VKR_DIMS] = {1, 1, 1, n, c->temb_channels}, pne[VKR_DIMS] = {1, 1, 1, n, c->out_channels};
    const int64_t bne[VKR_DIMS] = {n, c->out_channels, 1, 1, 1};
    vkr_tensor act = {0}, proj = {0}, projv;
    int rc;
    if ((rc = vkr_check_shape("resnet", "temb", temb, tne)))
        return rc;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, temb->dtype, tne, &act)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, h->dtype, pne, &proj)) ||
        (rc = vkr_op_silu(gpu, temb, &act)) ||
        (rc = vkr_op_linear(gpu, &act, &blk->time_emb_proj_weight, &blk->time_emb_proj_bias, &proj)) ||
        (rc = vkr_tensor_reshape(&proj, bne, &projv)) ||
        (rc = vkr_op_add(gpu, h, &projv, h)))
        goto fail;
fail:
    vkr_tensor_free(gpu, &act);
    vkr_tensor_free(gpu, &proj);
    return rc;
}

int vkr_resnet_block2d_forward(vkr_gpu *gpu, const vkr_resnet_block2d *blk, const vkr_tensor *x,
                               const vkr_tensor *temb, const vkr_tensor *y)
{
    const vkr_resnet_config *c = &blk->cfg;
    int64_t n = x->ne[0], f = x->ne[2], hh = x->ne[3], ww = x->ne[4];
    const int64_t xne[VKR_DIMS] = {n, c->in_channels, f, hh, ww}, yne[VKR_DIMS] = {n, c->out_channels, f, hh, ww};
    vkr_tensor a = {0}, b = {0};
    int rc;
    if ((rc = vkr_check_shape("resnet", "x", x, xne)) || (rc = vkr_check_shape("resnet", "y", y, yne)) ||
        (rc = vkr_check_dtype("resnet", "y", y, x->dtype)))
        return rc;
    if (c->temb_channels && !temb)
        return vkr_fail(VKR_E_INTERNAL, "resnet: the block has a time embedding projection but no temb was given");
    const int64_t ane[VKR_DIMS] = {n, c->in_channels, f, hh, ww};
    const vkr_group_norm_params gn1 = {.groups = c->groups, .eps = c->eps, .per_frame = 1, .silu = 1};
    const vkr_group_norm_params gn2 = {.groups = c->groups_out, .eps = c->eps, .per_frame = 1, .silu = 1};
    const vkr_conv2d_params k3 = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    const vkr_conv2d_params k3out = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1,
                                     .output_scale_factor = c->output_scale_factor};
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, ane, &a)) ||
        (rc = vkr_op_group_norm(gpu, x, &blk->norm1_weight, &blk->norm1_bias, &gn1, &a)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, yne, &b)) ||
        (rc = vkr_op_conv2d(gpu, &a, &blk->conv1_weight, &blk->conv1_bias, NULL, &k3, &b)))
        goto fail;
    vkr_tensor_free(gpu, &a);
    if (c->temb_channels && (rc = add_time_embedding(gpu, blk, temb, &b)))
        goto fail;
    if ((rc = vkr_op_group_norm(gpu, &b, &blk->norm2_weight, &blk->norm2_bias, &gn2, &b)))
        goto fail;
    /* The shortcut goes straight into y, then conv2 adds itself to it and
     * divides by output_scale_factor in its epilogue: y = (sc + conv2(h)) / s. */
    const vkr_tensor *residual = x;
    if (blk->has_conv_shortcut) {
        const vkr_conv2d_params k1 = {0};
        if ((rc = vkr_op_conv2d(gpu, x, &blk->conv_shortcut_weight, &blk->conv_shortcut_bias, NULL, &k1, y)))
            goto fail;
        residual = y;
    }
    rc = vkr_op_conv2d(gpu, &b, &blk->conv2_weight, &blk->conv2_bias, residual, &k3out, y);
fail:
    vkr_tensor_free(gpu, &a);
    vkr_tensor_free(gpu, &b);
    return rc;
}
