#include "audio/unet2d_blocks.h"

#include "gpu/ops_conv.h"
#include "gpu/ops_eltwise.h"
#include "gpu/ops_misc.h"

#include <stdio.h>

static const vkr_conv2d_params CONV3X3 = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};

static void map_ne(const vkr_tensor *x, int64_t c, int64_t h, int64_t w, int64_t ne[VKR_DIMS])
{
    ne[0] = x->ne[0];
    ne[1] = c;
    ne[2] = x->ne[2];
    ne[3] = h;
    ne[4] = w;
}

int vkr_unet2d_block_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix,
                          vkr_unet2d_block_kind kind, const vkr_unet2d_block_spec *s, vkr_unet2d_block *b)
{
    char p[512];
    int rc;
    if (s->n_layers < 1 || s->n_layers > VKR_UNET2D_MAX_LAYERS)
        return vkr_fail(VKR_E_DATA, "%s: %d resnets (1..%d supported)", prefix, s->n_layers, VKR_UNET2D_MAX_LAYERS);
    if (s->has_attention && (s->heads < 1 || s->out_channels % s->heads))
        return vkr_fail(VKR_E_DATA, "%s: %lld channels cannot be split into %lld attention heads", prefix,
                        (long long)s->out_channels, (long long)s->heads);
    b->kind = kind;
    b->n_layers = s->n_layers;
    b->has_attention = s->has_attention;
    b->out_channels = s->out_channels;
    b->has_sampler = s->add_sampler;
    b->downsample_padding = s->downsample_padding;
    for (int i = 0; i < s->n_layers; i++) {
        int64_t in = s->out_channels;
        if (kind == VKR_UNET2D_DOWN && i == 0)
            in = s->in_channels;
        if (kind == VKR_UNET2D_UP) {
            /* resnet i sees cat([hidden, skip]): the skip of the last layer has
             * the block's input width, the others its output width. */
            int64_t skip = i == s->n_layers - 1 ? s->in_channels : s->out_channels;
            in = (i == 0 ? s->prev_output_channels : s->out_channels) + skip;
        }
        snprintf(p, sizeof p, "%s.resnets.%d", prefix, i);
        const vkr_resnet_config rcfg = {.in_channels = (int)in, .out_channels = (int)s->out_channels,
                                        .temb_channels = (int)s->temb_channels, .groups = s->groups, .eps = s->eps,
                                        .output_scale_factor = s->output_scale_factor};
        if ((rc = vkr_resnet_block2d_load(gpu, w, p, &rcfg, dtype, &b->resnets[i])))
            return rc;
        /* the mid block has one attention fewer than resnets */
        if (s->has_attention && !(kind == VKR_UNET2D_MID && i == s->n_layers - 1)) {
            /* Transformer2DModel(heads, out_channels // heads, in_channels=out_channels, ...) */
            snprintf(p, sizeof p, "%s.attentions.%d", prefix, i);
            if ((rc = vkr_transformer2d_load(gpu, w, dtype, p, s->out_channels, s->heads, s->out_channels / s->heads,
                                             s->groups, s->transformer_layers, s->cross_dim, &b->attentions[i])))
                return rc;
        }
    }
    if (s->add_sampler) {
        const char *what = kind == VKR_UNET2D_DOWN ? "downsamplers" : "upsamplers";
        int64_t c = s->out_channels;
        if ((rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(c, c, 3, 3), &b->sampler_weight, "%s.%s.0.conv.weight",
                                  prefix, what)) ||
            (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(c), &b->sampler_bias, "%s.%s.0.conv.bias", prefix, what)))
            return rc;
    }
    return VKR_OK;
}

static int alloc_like(vkr_gpu *gpu, const vkr_tensor *x, int64_t channels, vkr_tensor *out)
{
    int64_t ne[VKR_DIMS];
    map_ne(x, channels, x->ne[3], x->ne[4], ne);
    return vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, ne, out);
}

/* Replaces *cur (freed when owned) by next. */
static void advance(vkr_gpu *gpu, vkr_tensor *cur, int *cur_owned, vkr_tensor *next)
{
    if (*cur_owned)
        vkr_tensor_free(gpu, cur);
    *cur = *next;
    *cur_owned = 1;
    *next = (vkr_tensor){0};
}

/* *cur = resnets[i](*cur, temb) */
static int resnet_step(vkr_gpu *gpu, const vkr_unet2d_block *b, int i, const vkr_unet2d_ctx *c, vkr_tensor *cur,
                       int *cur_owned)
{
    vkr_tensor next = {0};
    int rc;
    if ((rc = alloc_like(gpu, cur, b->out_channels, &next)) ||
        (rc = vkr_resnet_block2d_forward(gpu, &b->resnets[i], cur, c->temb, &next))) {
        vkr_tensor_free(gpu, &next);
        return rc;
    }
    advance(gpu, cur, cur_owned, &next);
    return VKR_OK;
}

/* *cur = attentions[i](*cur, encoder_hidden_states) */
static int attention_step(vkr_gpu *gpu, const vkr_unet2d_block *b, int i, const vkr_unet2d_ctx *c, vkr_tensor *cur,
                          int *cur_owned)
{
    vkr_tensor next = {0};
    int rc;
    if ((rc = alloc_like(gpu, cur, b->out_channels, &next)) ||
        (rc = vkr_transformer2d_forward(gpu, &b->attentions[i], cur, c->context, &next))) {
        vkr_tensor_free(gpu, &next);
        return rc;
    }
    advance(gpu, cur, cur_owned, &next);
    return VKR_OK;
}

static int push_skip(vkr_unet2d_skips *s, const vkr_tensor *t)
{
    if (s->n >= VKR_UNET2D_MAX_SKIPS)
        return vkr_fail(VKR_E_INTERNAL, "unet2d: more than %d skip connections", VKR_UNET2D_MAX_SKIPS);
    s->t[s->n++] = *t;
    return VKR_OK;
}

int vkr_unet2d_down_forward(vkr_gpu *gpu, const vkr_unet2d_block *b, const vkr_tensor *x, const vkr_unet2d_ctx *c,
                            vkr_unet2d_skips *skips, vkr_tensor *out)
{
    vkr_tensor cur = *x, next = {0};
    int cur_owned = 0, rc;
    for (int i = 0; i < b->n_layers; i++) {
        /* resnet [-> attention]; the layer output is a skip (owned by the stack) */
        if ((rc = resnet_step(gpu, b, i, c, &cur, &cur_owned)) ||
            (b->has_attention && (rc = attention_step(gpu, b, i, c, &cur, &cur_owned))) ||
            (rc = push_skip(skips, &cur)))
            goto fail;
        cur_owned = 0;
    }
    if (b->has_sampler) {
        /* Downsample2D: 3x3 conv, stride 2, padding downsample_padding (diffusers
         * pads (0, 1, 0, 1) first when it is 0). */
        int p = b->downsample_padding;
        vkr_conv2d_params cp = {.stride_h = 2, .stride_w = 2, .pad_top = p, .pad_left = p};
        cp.pad_bottom = cp.pad_right = p ? p : 1;
        int64_t ne[VKR_DIMS];
        map_ne(&cur, b->out_channels, vkr_conv_out_extent(cur.ne[3], 3, 2, 1, cp.pad_top, cp.pad_bottom),
               vkr_conv_out_extent(cur.ne[4], 3, 2, 1, cp.pad_left, cp.pad_right), ne);
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cur.dtype, ne, &next)) ||
            (rc = vkr_op_conv2d(gpu, &cur, &b->sampler_weight, &b->sampler_bias, NULL, &cp, &next)) ||
            (rc = push_skip(skips, &next)))
            goto fail;
        cur = next;
        next = (vkr_tensor){0};
    }
    *out = cur;
    return VKR_OK;
fail:
    vkr_tensor_free(gpu, &next);
    if (cur_owned)
        vkr_tensor_free(gpu, &cur);
    return rc;
}

int vkr_unet2d_mid_forward(vkr_gpu *gpu, const vkr_unet2d_block *b, const vkr_tensor *x, const vkr_unet2d_ctx *c,
                           vkr_tensor *out)
{
    /* resnets[0], then per attention i: attentions[i] -> resnets[i + 1] */
    vkr_tensor cur = *x;
    int cur_owned = 0, rc;
    if ((rc = resnet_step(gpu, b, 0, c, &cur, &cur_owned)))
        goto fail;
    for (int i = 0; i + 1 < b->n_layers; i++)
        if ((rc = attention_step(gpu, b, i, c, &cur, &cur_owned)) ||
            (rc = resnet_step(gpu, b, i + 1, c, &cur, &cur_owned)))
            goto fail;
    *out = cur;
    return VKR_OK;
fail:
    if (cur_owned)
        vkr_tensor_free(gpu, &cur);
    return rc;
}

int vkr_unet2d_up_forward(vkr_gpu *gpu, const vkr_unet2d_block *b, vkr_tensor *x, const vkr_unet2d_ctx *c,
                          vkr_unet2d_skips *skips, vkr_tensor *out)
{
    vkr_tensor cur = *x, next = {0}, cat = {0};
    int cur_owned = 1, rc;
    *x = (vkr_tensor){0};
    for (int i = 0; i < b->n_layers; i++) {
        if (skips->n < 1) {
            rc = vkr_fail(VKR_E_INTERNAL, "unet2d: skip stack empty");
            goto fail;
        }
        vkr_tensor *skip = &skips->t[skips->n - 1];
        /* torch.cat([hidden_states, res_hidden_states], dim=1) */
        if ((rc = alloc_like(gpu, &cur, cur.ne[1] + skip->ne[1], &cat)) ||
            (rc = vkr_op_concat(gpu, &cur, skip, VKR_DIM_C, &cat)))
            goto fail;
        vkr_tensor_free(gpu, skip);
        skips->n--;
        advance(gpu, &cur, &cur_owned, &cat);
        if ((rc = resnet_step(gpu, b, i, c, &cur, &cur_owned)) ||
            (b->has_attention && (rc = attention_step(gpu, b, i, c, &cur, &cur_owned))))
            goto fail;
    }
    if (b->has_sampler) {
        /* Upsample2D: nearest to the next skip's size, then a 3x3 conv. */
        if (skips->n < 1) {
            rc = vkr_fail(VKR_E_INTERNAL, "unet2d: no skip left to size the upsampling");
            goto fail;
        }
        const vkr_tensor *skip = &skips->t[skips->n - 1];
        int64_t ne[VKR_DIMS];
        map_ne(&cur, cur.ne[1], skip->ne[3], skip->ne[4], ne);
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, cur.dtype, ne, &next)) ||
            (rc = vkr_op_upsample_nearest(gpu, &cur, &next)))
            goto fail;
        advance(gpu, &cur, &cur_owned, &next);
        if ((rc = alloc_like(gpu, &cur, b->out_channels, &next)) ||
            (rc = vkr_op_conv2d(gpu, &cur, &b->sampler_weight, &b->sampler_bias, NULL, &CONV3X3, &next)))
            goto fail;
        advance(gpu, &cur, &cur_owned, &next);
    }
    *out = cur;
    return VKR_OK;
fail:
    vkr_tensor_free(gpu, &next);
    vkr_tensor_free(gpu, &cat);
    if (cur_owned)
        vkr_tensor_free(gpu, &cur);
    return rc;
}
