#include "vae/autoencoder_kl.h"

#include "common/status.h"
#include "gpu/kernel.h"
#include "gpu/ops_conv.h"
#include "gpu/ops_eltwise.h"
#include "gpu/ops_misc.h"
#include "gpu/ops_norm.h"
#include "model/diffusers_dir.h"
#include "nn/param.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VAE_EPS 1e-6f /* every GroupNorm of the VAE */

/* ------------------------------------------------------------------ config */

int vkr_vae_config_load(const char *config_path, vkr_vae_config *cfg)
{
    vkr_config c = {0};
    int rc = vkr_cfg_load(&c, config_path);
    if (rc)
        return rc;
    *cfg = (vkr_vae_config){0};
    static const int def_boc[1] = {64};
    const char *down[VKR_VAE_MAX_BLOCKS], *up[VKR_VAE_MAX_BLOCKS], *act;
    static const char *const def_down[1] = {"DownEncoderBlock2D"}, *const def_up[1] = {"UpDecoderBlock2D"};
    int n_down, n_up;
    bool add_attn, quant, post_quant, upcast;
    if ((rc = vkr_cfg_int(&c, "in_channels", 3, &cfg->in_channels)) ||
        (rc = vkr_cfg_int(&c, "out_channels", 3, &cfg->out_channels)) ||
        (rc = vkr_cfg_int(&c, "latent_channels", 4, &cfg->latent_channels)) ||
        (rc = vkr_cfg_int_array(&c, "block_out_channels", def_boc, 1, cfg->block_out_channels, VKR_VAE_MAX_BLOCKS,
                                &cfg->n_blocks)) ||
        (rc = vkr_cfg_int(&c, "layers_per_block", 1, &cfg->layers_per_block)) ||
        (rc = vkr_cfg_int(&c, "norm_num_groups", 32, &cfg->norm_num_groups)) ||
        (rc = vkr_cfg_int(&c, "sample_size", 32, &cfg->sample_size)) ||
        (rc = vkr_cfg_double(&c, "scaling_factor", 0.18215, &cfg->scaling_factor)) ||
        (rc = vkr_cfg_bool(&c, "mid_block_add_attention", true, &add_attn)) ||
        (rc = vkr_cfg_bool(&c, "use_quant_conv", true, &quant)) ||
        (rc = vkr_cfg_bool(&c, "use_post_quant_conv", true, &post_quant)) ||
        (rc = vkr_cfg_bool(&c, "force_upcast", true, &upcast)) ||
        (rc = vkr_cfg_string(&c, "act_fn", "silu", &act)) ||
        (rc = vkr_cfg_string_array(&c, "down_block_types", def_down, 1, down, VKR_VAE_MAX_BLOCKS, &n_down)) ||
        (rc = vkr_cfg_string_array(&c, "up_block_types", def_up, 1, up, VKR_VAE_MAX_BLOCKS, &n_up)))
        goto done;
    cfg->mid_block_add_attention = add_attn;
    cfg->use_quant_conv = quant;
    cfg->use_post_quant_conv = post_quant;
    cfg->force_upcast = upcast;
    rc = VKR_E_DATA;
    if (strcmp(act, "silu") != 0) {
        vkr_fail(rc, "%s: act_fn \"%s\" is not supported (silu only)", config_path, act);
        goto done;
    }
    if (n_down != cfg->n_blocks || n_up != cfg->n_blocks) {
        vkr_fail(rc, "%s: %d down / %d up block types for %d block_out_channels", config_path, n_down, n_up,
                 cfg->n_blocks);
        goto done;
    }
    for (int i = 0; i < cfg->n_blocks; i++) {
        if (strcmp(down[i], "DownEncoderBlock2D") != 0 || strcmp(up[i], "UpDecoderBlock2D") != 0) {
            vkr_fail(rc, "%s: block types %s / %s are not supported (DownEncoderBlock2D / UpDecoderBlock2D)",
                     config_path, down[i], up[i]);
            goto done;
        }
        if (cfg->block_out_channels[i] <= 0 || cfg->norm_num_groups <= 0 ||
            cfg->block_out_channels[i] % cfg->norm_num_groups) {
            vkr_fail(rc, "%s: block_out_channels[%d] = %d is not a multiple of norm_num_groups = %d", config_path,
                     i, cfg->block_out_channels[i], cfg->norm_num_groups);
            goto done;
        }
    }
    if (cfg->in_channels <= 0 || cfg->out_channels <= 0 || cfg->latent_channels <= 0 || cfg->layers_per_block <= 0) {
        vkr_fail(rc, "%s: channel counts and layers_per_block must be positive", config_path);
        goto done;
    }
    rc = VKR_OK;
done:
    vkr_cfg_free(&c);
    return rc;
}

int vkr_vae_scale_factor(const vkr_vae_config *cfg) { return 1 << (cfg->n_blocks - 1); }

/* ----------------------------------------------------------------- loading */

static int load_conv(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, int out, int in, int k, vkr_tensor *weight,
                     vkr_tensor *bias, const char *name)
{
    const int64_t dims[4] = {out, in, k, k}; /* -> {1, out, in, k, k}, the conv weight layout */
    int rc = vkr_param_loadf(gpu, w, dtype, 4, dims, weight, "%s.weight", name);
    return rc ? rc : vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(out), bias, "%s.bias", name);
}

static int load_mid(vkr_gpu *gpu, vkr_weights *w, const vkr_vae_config *cfg, vkr_dtype dtype, const char *coder,
                    vkr_vae_mid_block *mid)
{
    int ch = cfg->block_out_channels[cfg->n_blocks - 1], rc;
    char prefix[128];
    const vkr_resnet_config rcfg = {.in_channels = ch, .out_channels = ch, .groups = cfg->norm_num_groups,
                                    .eps = VAE_EPS};
    for (int i = 0; i < 2; i++) {
        snprintf(prefix, sizeof prefix, "%s.mid_block.resnets.%d", coder, i);
        if ((rc = vkr_resnet_block2d_load(gpu, w, prefix, &rcfg, dtype, &mid->resnets[i])))
            return rc;
    }
    mid->has_attention = cfg->mid_block_add_attention;
    if (mid->has_attention) {
        /* attention_head_dim = channels: one head. */
        const vkr_vae_attention_config acfg = {.channels = ch, .heads = 1, .groups = cfg->norm_num_groups,
                                               .eps = VAE_EPS, .rescale_output_factor = 1.0f};
        snprintf(prefix, sizeof prefix, "%s.mid_block.attentions.0", coder);
        if ((rc = vkr_vae_attention_load(gpu, w, prefix, &acfg, dtype, &mid->attention)))
            return rc;
    }
    return VKR_OK;
}

static int load_tail(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *coder, int ch, int out,
                     vkr_vae_coder *c)
{
    int rc;
    char name[128];
    snprintf(name, sizeof name, "%s.conv_out", coder);
    if ((rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(ch), &c->conv_norm_out_weight, "%s.conv_norm_out.weight", coder)) ||
        (rc = vkr_param_loadf(gpu, w, dtype, VKR_SHAPE(ch), &c->conv_norm_out_bias, "%s.conv_norm_out.bias", coder)) ||
        (rc = load_conv(gpu, w, dtype, out, ch, 3, &c->conv_out_weight, &c->conv_out_bias, name)))
        return rc;
    return VKR_OK;
}

static int load_block_resnets(vkr_gpu *gpu, vkr_weights *w, const vkr_vae_config *cfg, vkr_dtype dtype,
                              const char *prefix, int n, int in, int out, vkr_vae_block *b)
{
    b->resnets = calloc((size_t)n, sizeof *b->resnets);
    if (!b->resnets)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    b->n_resnets = n;
    char name[160];
    for (int j = 0; j < n; j++) {
        const vkr_resnet_config rcfg = {.in_channels = j ? out : in, .out_channels = out,
                                        .groups = cfg->norm_num_groups, .eps = VAE_EPS};
        snprintf(name, sizeof name, "%s.resnets.%d", prefix, j);
        int rc = vkr_resnet_block2d_load(gpu, w, name, &rcfg, dtype, &b->resnets[j]);
        if (rc)
            return rc;
    }
    return VKR_OK;
}

static int load_encoder(vkr_gpu *gpu, vkr_weights *w, const vkr_vae_config *cfg, vkr_dtype dtype, vkr_vae *vae)
{
    vkr_vae_coder *e = &vae->encoder;
    const int *boc = cfg->block_out_channels, nb = cfg->n_blocks;
    int rc, lat2 = 2 * cfg->latent_channels;
    char prefix[128];
    if ((rc = load_conv(gpu, w, dtype, boc[0], cfg->in_channels, 3, &e->conv_in_weight, &e->conv_in_bias,
                        "encoder.conv_in")))
        return rc;
    int ch = boc[0];
    for (int i = 0; i < nb; i++) {
        vkr_vae_block *b = &e->blocks[i];
        snprintf(prefix, sizeof prefix, "encoder.down_blocks.%d", i);
        if ((rc = load_block_resnets(gpu, w, cfg, dtype, prefix, cfg->layers_per_block, ch, boc[i], b)))
            return rc;
        ch = boc[i];
        b->has_sampler = i < nb - 1;
        if (b->has_sampler) {
            snprintf(prefix, sizeof prefix, "encoder.down_blocks.%d.downsamplers.0.conv", i);
            if ((rc = load_conv(gpu, w, dtype, ch, ch, 3, &b->sampler_weight, &b->sampler_bias, prefix)))
                return rc;
        }
    }
    if ((rc = load_mid(gpu, w, cfg, dtype, "encoder", &e->mid_block)) ||
        (rc = load_tail(gpu, w, dtype, "encoder", ch, lat2, e)))
        return rc;
    if (cfg->use_quant_conv &&
        (rc = load_conv(gpu, w, dtype, lat2, lat2, 1, &vae->quant_conv_weight, &vae->quant_conv_bias, "quant_conv")))
        return rc;
    return VKR_OK;
}

static int load_decoder(vkr_gpu *gpu, vkr_weights *w, const vkr_vae_config *cfg, vkr_dtype dtype, vkr_vae *vae)
{
    vkr_vae_coder *d = &vae->decoder;
    const int *boc = cfg->block_out_channels, nb = cfg->n_blocks, lat = cfg->latent_channels;
    int rc;
    char prefix[128];
    if (cfg->use_post_quant_conv &&
        (rc = load_conv(gpu, w, dtype, lat, lat, 1, &vae->post_quant_conv_weight, &vae->post_quant_conv_bias,
                        "post_quant_conv")))
        return rc;
    int ch = boc[nb - 1];
    if ((rc = load_conv(gpu, w, dtype, ch, lat, 3, &d->conv_in_weight, &d->conv_in_bias, "decoder.conv_in")) ||
        (rc = load_mid(gpu, w, cfg, dtype, "decoder", &d->mid_block)))
        return rc;
    for (int i = 0; i < nb; i++) {
        vkr_vae_block *b = &d->blocks[i];
        int out = boc[nb - 1 - i]; /* reversed block_out_channels */
        snprintf(prefix, sizeof prefix, "decoder.up_blocks.%d", i);
        if ((rc = load_block_resnets(gpu, w, cfg, dtype, prefix, cfg->layers_per_block + 1, ch, out, b)))
            return rc;
        ch = out;
        b->has_sampler = i < nb - 1;
        if (b->has_sampler) {
            snprintf(prefix, sizeof prefix, "decoder.up_blocks.%d.upsamplers.0.conv", i);
            if ((rc = load_conv(gpu, w, dtype, ch, ch, 3, &b->sampler_weight, &b->sampler_bias, prefix)))
                return rc;
        }
    }
    return load_tail(gpu, w, dtype, "decoder", ch, cfg->out_channels, d);
}

int vkr_vae_load_weights(vkr_gpu *gpu, const vkr_vae_config *cfg, vkr_weights *w, vkr_dtype dtype, int parts,
                         vkr_vae *vae)
{
    *vae = (vkr_vae){.cfg = *cfg, .dtype = dtype};
    if (dtype != VKR_F32 && dtype != VKR_F16 && dtype != VKR_BF16)
        return vkr_fail(VKR_E_USAGE, "VAE weights: dtype %s is not a storage type", vkr_dtype_name(dtype));
    if (cfg->n_blocks < 1 || cfg->n_blocks > VKR_VAE_MAX_BLOCKS)
        return vkr_fail(VKR_E_DATA, "VAE: %d blocks", cfg->n_blocks);
    int rc;
    if (parts & VKR_VAE_LOAD_ENCODER) {
        vae->has_encoder = 1;
        if ((rc = load_encoder(gpu, w, cfg, dtype, vae)))
            goto fail;
    } else {
        vkr_weights_skip_prefix(w, "encoder.");
        vkr_weights_skip_prefix(w, "quant_conv.");
    }
    if (parts & VKR_VAE_LOAD_DECODER) {
        vae->has_decoder = 1;
        if ((rc = load_decoder(gpu, w, cfg, dtype, vae)))
            goto fail;
    } else {
        vkr_weights_skip_prefix(w, "decoder.");
        vkr_weights_skip_prefix(w, "post_quant_conv.");
    }
    if ((rc = vkr_weights_check_all_used(w)))
        goto fail;
    return VKR_OK;
fail:
    vkr_vae_free(vae);
    return rc;
}

int vkr_vae_load_ex(vkr_gpu *gpu, const char *dir, vkr_dtype dtype, int parts, vkr_vae *vae)
{
    char path[4096];
    vkr_vae_config cfg;
    vkr_weights *w = NULL;
    int rc;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if ((rc = vkr_vae_config_load(path, &cfg)))
        return rc;
    rc = vkr_open_dir_weights(dir, VKR_VARIANT_DEFAULT, &w);
    if (rc)
        return rc;
    rc = vkr_vae_load_weights(gpu, &cfg, w, dtype, parts, vae);
    vkr_weights_close(w);
    return rc;
}

int vkr_vae_load(vkr_gpu *gpu, const char *dir, vkr_dtype dtype, vkr_vae *vae)
{
    return vkr_vae_load_ex(gpu, dir, dtype, VKR_VAE_LOAD_ALL, vae);
}

void vkr_vae_free(vkr_vae *vae)
{
    for (int i = 0; i < VKR_VAE_MAX_BLOCKS; i++) {
        free(vae->encoder.blocks[i].resnets);
        free(vae->decoder.blocks[i].resnets);
        vae->encoder.blocks[i].resnets = vae->decoder.blocks[i].resnets = NULL;
    }
}

/* ----------------------------------------------------------------- forward */

static int alloc_like(vkr_gpu *gpu, int64_t n, int64_t c, int64_t f, int64_t h, int64_t w, vkr_tensor *t)
{
    const int64_t ne[VKR_DIMS] = {n, c, f, h, w};
    return vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, t);
}

/* *x (owned) goes through resnet blk; *x is replaced by the result. */
static int run_resnet(vkr_gpu *gpu, const vkr_resnet_block2d *blk, vkr_tensor *x)
{
    vkr_tensor y;
    int rc = alloc_like(gpu, x->ne[0], blk->cfg.out_channels, x->ne[2], x->ne[3], x->ne[4], &y);
    if (rc)
        return rc;
    if ((rc = vkr_resnet_block2d_forward(gpu, blk, x, NULL, &y))) {
        vkr_tensor_free(gpu, &y);
        return rc;
    }
    vkr_tensor_free(gpu, x);
    *x = y;
    return VKR_OK;
}

static int run_mid(vkr_gpu *gpu, const vkr_vae_mid_block *mid, vkr_tensor *x)
{
    int rc;
    if ((rc = run_resnet(gpu, &mid->resnets[0], x)))
        return rc;
    if (mid->has_attention) {
        vkr_tensor y;
        if ((rc = alloc_like(gpu, x->ne[0], x->ne[1], x->ne[2], x->ne[3], x->ne[4], &y)))
            return rc;
        if ((rc = vkr_vae_attention_forward(gpu, &mid->attention, x, &y, 0))) {
            vkr_tensor_free(gpu, &y);
            return rc;
        }
        vkr_tensor_free(gpu, x);
        *x = y;
    }
    return run_resnet(gpu, &mid->resnets[1], x);
}

/* conv_norm_out -> SiLU -> conv_out into y (any strides). Consumes *x. */
static int run_tail(vkr_gpu *gpu, const vkr_vae_coder *c, int groups, vkr_tensor *x, const vkr_tensor *y)
{
    const vkr_group_norm_params gn = {.groups = groups, .eps = VAE_EPS, .per_frame = 1, .silu = 1};
    const vkr_conv2d_params k3 = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    int rc;
    if ((rc = vkr_op_group_norm(gpu, x, &c->conv_norm_out_weight, &c->conv_norm_out_bias, &gn, x)) ||
        (rc = vkr_op_conv2d(gpu, x, &c->conv_out_weight, &c->conv_out_bias, NULL, &k3, y)))
        return rc;
    vkr_tensor_free(gpu, x);
    return VKR_OK;
}

void vkr_vae_decode_shape(const vkr_vae *vae, const int64_t z_ne[VKR_DIMS], int64_t out_ne[VKR_DIMS])
{
    int s = vkr_vae_scale_factor(&vae->cfg);
    out_ne[0] = z_ne[0];
    out_ne[1] = vae->cfg.out_channels;
    out_ne[2] = z_ne[2];
    out_ne[3] = z_ne[3] * s;
    out_ne[4] = z_ne[4] * s;
}

uint64_t vkr_vae_decode_bytes(const vkr_vae *vae, int64_t frames, int64_t h, int64_t w)
{
    /* The largest level dominates: a resnet holds its input, the normalised
     * copy, conv1's output and its own output (4 tensors); an upsampler holds
     * its input and the x2 output plus the conv output (1 + 4 + 4 quarters).
     * The mid attention adds q, k, v, o and a 64 MiB score block. */
    const vkr_vae_config *c = &vae->cfg;
    uint64_t peak = 0;
    int64_t hh = h, ww = w;
    for (int i = 0; i < c->n_blocks; i++) {
        int ch = c->block_out_channels[c->n_blocks - 1 - i];
        int chin = i ? c->block_out_channels[c->n_blocks - i] : ch;
        int chmax = ch > chin ? ch : chin;
        uint64_t level = 4ull * (uint64_t)chmax * hh * ww;
        if (i < c->n_blocks - 1)
            level = (uint64_t)ch * hh * ww * 9ull;
        if (level > peak)
            peak = level;
        if (i < c->n_blocks - 1)
            hh *= 2, ww *= 2;
    }
    uint64_t mid = 8ull * c->block_out_channels[c->n_blocks - 1] * h * w;
    if (mid > peak)
        peak = mid;
    return peak * sizeof(float) * (uint64_t)frames + (c->mid_block_add_attention ? (64ull << 20) : 0);
}

/* One decode of z (any strides, all frames at once) into y (any strides). */
static int decode_whole(vkr_gpu *gpu, const vkr_vae *vae, const vkr_tensor *z, const vkr_tensor *y)
{
    const vkr_vae_config *c = &vae->cfg;
    const vkr_vae_coder *d = &vae->decoder;
    int64_t n = z->ne[0], f = z->ne[2], h = z->ne[3], w = z->ne[4];
    const vkr_conv2d_params k1 = {0}, k3 = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    vkr_tensor pq = {0}, x = {0}, u = {0};
    int rc;
    const vkr_tensor *zin = z;
    if (c->use_post_quant_conv) {
        if ((rc = alloc_like(gpu, n, c->latent_channels, f, h, w, &pq)) ||
            (rc = vkr_op_conv2d(gpu, z, &vae->post_quant_conv_weight, &vae->post_quant_conv_bias, NULL, &k1, &pq)))
            goto fail;
        zin = &pq;
    }
    if ((rc = alloc_like(gpu, n, c->block_out_channels[c->n_blocks - 1], f, h, w, &x)) ||
        (rc = vkr_op_conv2d(gpu, zin, &d->conv_in_weight, &d->conv_in_bias, NULL, &k3, &x)))
        goto fail;
    vkr_tensor_free(gpu, &pq);
    if ((rc = run_mid(gpu, &d->mid_block, &x)))
        goto fail;
    for (int i = 0; i < c->n_blocks; i++) {
        const vkr_vae_block *b = &d->blocks[i];
        for (int j = 0; j < b->n_resnets; j++)
            if ((rc = run_resnet(gpu, &b->resnets[j], &x)))
                goto fail;
        if (b->has_sampler) {
            /* Upsample2D: nearest x2, then 3x3 conv. */
            int64_t ch = x.ne[1], h2 = x.ne[3] * 2, w2 = x.ne[4] * 2;
            if ((rc = alloc_like(gpu, n, ch, f, h2, w2, &u)) || (rc = vkr_op_upsample_nearest(gpu, &x, &u)))
                goto fail;
            vkr_tensor_free(gpu, &x);
            if ((rc = alloc_like(gpu, n, ch, f, h2, w2, &x)) ||
                (rc = vkr_op_conv2d(gpu, &u, &b->sampler_weight, &b->sampler_bias, NULL, &k3, &x)))
                goto fail;
            vkr_tensor_free(gpu, &u);
        }
    }
    rc = run_tail(gpu, d, c->norm_num_groups, &x, y);
fail:
    vkr_tensor_free(gpu, &pq);
    vkr_tensor_free(gpu, &x);
    vkr_tensor_free(gpu, &u);
    return rc;
}

/* ---- tiled decode (diffusers AutoencoderKL.tiled_decode) ----
 * Latent tiles of T x T start every T * 3/4; each is decoded alone; a tile's
 * first blend = T * s / 4 rows (columns) are blended linearly with the last
 * ones of the tile above (left): b[y] = a[E - blend + y] (1 - y/E) + b[y] y/E,
 * in diffusers' order (vertical first, with already blended neighbours);
 * then each tile keeps its first T * s * 3/4 rows/cols (all of the last). */

typedef struct {
    vkr_tensor t; /* decoded tile {N, C, F, th, tw} */
} tile;

/* b[.., :e, ..] = a[.., last e, ..] * (1 - y/e) + b[.., :e, ..] * (y/e) along dim (3 = rows, 4 = cols). */
static int blend(vkr_gpu *gpu, const vkr_tensor *a, const vkr_tensor *b, int dim, int64_t e)
{
    if (a->ne[dim] < e)
        e = a->ne[dim];
    if (b->ne[dim] < e)
        e = b->ne[dim];
    if (e <= 0)
        return VKR_OK;
    float *ramp = malloc((size_t)e * 2 * sizeof(float));
    if (!ramp)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    for (int64_t y = 0; y < e; y++) {
        ramp[y] = (float)(1.0 - (double)y / (double)e);
        ramp[e + y] = (float)((double)y / (double)e);
    }
    int64_t rne[VKR_DIMS] = {1, 1, 1, 1, 1};
    rne[dim] = e;
    vkr_tensor wa = {0}, wb = {0}, tmp = {0}, as, bs;
    int rc;
    if ((rc = vkr_tensor_slice(a, dim, a->ne[dim] - e, e, &as)) || (rc = vkr_tensor_slice(b, dim, 0, e, &bs)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, rne, &wa)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, rne, &wb)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, bs.ne, &tmp)) ||
        (rc = vkr_tensor_upload(gpu, &wa, ramp, VKR_F32)) || (rc = vkr_tensor_upload(gpu, &wb, ramp + e, VKR_F32)) ||
        (rc = vkr_op_mul(gpu, &as, &wa, &tmp)) || (rc = vkr_op_mul(gpu, &bs, &wb, &bs)) ||
        (rc = vkr_op_add(gpu, &bs, &tmp, &bs)))
        goto fail;
fail:
    vkr_tensor_free(gpu, &wa);
    vkr_tensor_free(gpu, &wb);
    vkr_tensor_free(gpu, &tmp);
    free(ramp);
    return rc;
}

static int decode_tiled(vkr_gpu *gpu, const vkr_vae *vae, const vkr_tensor *z, int tl, const vkr_tensor *y)
{
    const int s = vkr_vae_scale_factor(&vae->cfg);
    const int64_t h = z->ne[3], w = z->ne[4];
    const int64_t step = tl - tl / 4, blend_e = (int64_t)tl * s / 4, keep = (int64_t)tl * s - blend_e;
    const int64_t rows = (h + step - 1) / step, cols = (w + step - 1) / step;
    tile *tiles = calloc((size_t)(rows * cols), sizeof *tiles);
    int rc = VKR_OK;
    if (!tiles)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    for (int64_t i = 0; i < rows && !rc; i++)
        for (int64_t j = 0; j < cols && !rc; j++) {
            vkr_tensor zt, ot;
            int64_t th = h - i * step < tl ? h - i * step : tl, tw = w - j * step < tl ? w - j * step : tl;
            tile *t = &tiles[i * cols + j];
            if ((rc = vkr_tensor_slice(z, 3, i * step, th, &zt)) || (rc = vkr_tensor_slice(&zt, 4, j * step, tw, &zt)) ||
                (rc = alloc_like(gpu, z->ne[0], vae->cfg.out_channels, z->ne[2], th * s, tw * s, &t->t)) ||
                (rc = decode_whole(gpu, vae, &zt, &t->t)))
                break;
            if (i > 0 && (rc = blend(gpu, &tiles[(i - 1) * cols + j].t, &t->t, 3, blend_e)))
                break;
            if (j > 0 && (rc = blend(gpu, &tiles[i * cols + j - 1].t, &t->t, 4, blend_e)))
                break;
            /* the kept part goes to its place in y */
            int64_t kh = t->t.ne[3] < keep ? t->t.ne[3] : keep, kw = t->t.ne[4] < keep ? t->t.ne[4] : keep;
            if ((rc = vkr_tensor_slice(&t->t, 3, 0, kh, &ot)) || (rc = vkr_tensor_slice(&ot, 4, 0, kw, &ot)))
                break;
            vkr_tensor yt;
            if ((rc = vkr_tensor_slice(y, 3, i * step * s, kh, &yt)) ||
                (rc = vkr_tensor_slice(&yt, 4, j * step * s, kw, &yt)) || (rc = vkr_op_copy(gpu, &ot, &yt)))
                break;
            /* the tile above the previous row's neighbour is no longer needed */
            if (i > 0 && j > 0)
                vkr_tensor_free(gpu, &tiles[(i - 1) * cols + j - 1].t);
        }
    for (int64_t i = 0; i < rows * cols; i++)
        vkr_tensor_free(gpu, &tiles[i].t);
    free(tiles);
    return rc;
}

int vkr_vae_decode_into(vkr_gpu *gpu, const vkr_vae *vae, const vkr_tensor *z, const vkr_vae_decode_opts *opts,
                        const vkr_tensor *out)
{
    static const vkr_vae_decode_opts whole = {0};
    if (!opts)
        opts = &whole;
    if (!vae->has_decoder)
        return vkr_fail(VKR_E_USAGE, "VAE: the decoder was not loaded");
    int64_t one[VKR_DIMS] = {z->ne[0], vae->cfg.latent_channels, z->ne[2], z->ne[3], z->ne[4]}, ne[VKR_DIMS];
    int rc;
    if ((rc = vkr_check_shape("vae_decode", "z", z, one)))
        return rc;
    vkr_vae_decode_shape(vae, z->ne, ne);
    if ((rc = vkr_check_shape("vae_decode", "out", out, ne)) || (rc = vkr_check_dtype("vae_decode", "out", out, VKR_F32)))
        return rc;
    int64_t frames = z->ne[0] * z->ne[2];
    if (frames == 0)
        return VKR_OK;
    int tl = opts->tile_latent;
    if (tl > 0 && (tl % 4 || tl < 4))
        return vkr_fail(VKR_E_USAGE, "VAE tiled decode: tile_latent %d is not a positive multiple of 4", tl);
    uint64_t budget = opts->memory_budget;
    if (!tl && budget && vkr_vae_decode_bytes(vae, 1, z->ne[3], z->ne[4]) > budget) {
        /* one frame does not fit: the largest tile that does (at least 8) */
        int64_t m = z->ne[3] > z->ne[4] ? z->ne[3] : z->ne[4];
        for (tl = (int)(m / 4 * 4); tl > 8 && vkr_vae_decode_bytes(vae, 1, tl, tl) > budget; tl -= 4)
            ;
        if (tl < 8)
            tl = 8;
    }
    int64_t th = tl ? (tl < z->ne[3] ? tl : z->ne[3]) : z->ne[3], tw = tl ? (tl < z->ne[4] ? tl : z->ne[4]) : z->ne[4];
    int64_t k = opts->frames_per_chunk;
    if (k <= 0) {
        uint64_t per = vkr_vae_decode_bytes(vae, 1, th, tw);
        k = budget ? (int64_t)(budget / per) : z->ne[2];
        if (k < 1)
            k = 1;
    }
    /* Chunks run over frames within each batch element (the F dim). */
    for (int64_t b = 0; b < z->ne[0]; b++)
        for (int64_t f0 = 0; f0 < z->ne[2]; f0 += k) {
            int64_t len = z->ne[2] - f0 < k ? z->ne[2] - f0 : k;
            vkr_tensor zc, oc;
            if (k >= z->ne[2] && z->ne[0] > 1 && !tl) {
                /* whole frames per batch: all batch elements at once */
                if (b > 0)
                    break;
                zc = *z, oc = *out;
            } else if ((rc = vkr_tensor_slice(z, 0, b, 1, &zc)) || (rc = vkr_tensor_slice(&zc, 2, f0, len, &zc)) ||
                       (rc = vkr_tensor_slice(out, 0, b, 1, &oc)) || (rc = vkr_tensor_slice(&oc, 2, f0, len, &oc))) {
                return rc;
            }
            rc = tl ? decode_tiled(gpu, vae, &zc, tl, &oc) : decode_whole(gpu, vae, &zc, &oc);
            if (rc)
                return rc;
            if (budget && (rc = vkr_gpu_submit_and_wait(gpu)))
                return rc; /* bound the recorded work (and its memory) per chunk */
        }
    return VKR_OK;
}

int vkr_vae_decode(vkr_gpu *gpu, const vkr_vae *vae, const vkr_tensor *z, vkr_tensor *out)
{
    int64_t ne[VKR_DIMS];
    vkr_vae_decode_shape(vae, z->ne, ne);
    int rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, out);
    if (rc)
        return rc;
    if ((rc = vkr_vae_decode_into(gpu, vae, z, NULL, out)))
        vkr_tensor_free(gpu, out);
    return rc;
}

/* ------------------------------------------------------------------ encode */

int vkr_vae_encode(vkr_gpu *gpu, const vkr_vae *vae, const vkr_tensor *x, vkr_tensor *mean, vkr_tensor *logvar)
{
    const vkr_vae_config *c = &vae->cfg;
    const vkr_vae_coder *e = &vae->encoder;
    if (!vae->has_encoder)
        return vkr_fail(VKR_E_USAGE, "VAE: the encoder was not loaded");
    int64_t n = x->ne[0], f = x->ne[2];
    const int64_t xne[VKR_DIMS] = {n, c->in_channels, f, x->ne[3], x->ne[4]};
    const vkr_conv2d_params k1 = {0}, k3 = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    /* Downsample2D(padding=0): F.pad(x, (0, 1, 0, 1)), then 3x3 stride 2. */
    const vkr_conv2d_params down = {.stride_h = 2, .stride_w = 2, .pad_bottom = 1, .pad_right = 1};
    vkr_tensor h = {0}, d = {0}, mo = {0}, q = {0};
    int rc, lat = c->latent_channels;
    if (mean)
        *mean = (vkr_tensor){0};
    if (logvar)
        *logvar = (vkr_tensor){0};
    if ((rc = vkr_check_shape("vae_encode", "x", x, xne)))
        return rc;
    if ((rc = alloc_like(gpu, n, c->block_out_channels[0], f, x->ne[3], x->ne[4], &h)) ||
        (rc = vkr_op_conv2d(gpu, x, &e->conv_in_weight, &e->conv_in_bias, NULL, &k3, &h)))
        goto fail;
    for (int i = 0; i < c->n_blocks; i++) {
        const vkr_vae_block *b = &e->blocks[i];
        for (int j = 0; j < b->n_resnets; j++)
            if ((rc = run_resnet(gpu, &b->resnets[j], &h)))
                goto fail;
        if (b->has_sampler) {
            int64_t ho = vkr_conv_out_extent(h.ne[3], 3, 2, 1, 0, 1), wo = vkr_conv_out_extent(h.ne[4], 3, 2, 1, 0, 1);
            if (ho <= 0 || wo <= 0) {
                rc = vkr_fail(VKR_E_USAGE, "VAE encode: %lldx%lld is too small to downsample", (long long)h.ne[3],
                              (long long)h.ne[4]);
                goto fail;
            }
            if ((rc = alloc_like(gpu, n, h.ne[1], f, ho, wo, &d)) ||
                (rc = vkr_op_conv2d(gpu, &h, &b->sampler_weight, &b->sampler_bias, NULL, &down, &d)))
                goto fail;
            vkr_tensor_free(gpu, &h);
            h = d, d = (vkr_tensor){0};
        }
    }
    if ((rc = run_mid(gpu, &e->mid_block, &h)) ||
        (rc = alloc_like(gpu, n, 2 * lat, f, h.ne[3], h.ne[4], &mo)) ||
        (rc = run_tail(gpu, e, c->norm_num_groups, &h, &mo)))
        goto fail;
    const vkr_tensor *moments = &mo;
    if (c->use_quant_conv) {
        if ((rc = alloc_like(gpu, n, 2 * lat, f, mo.ne[3], mo.ne[4], &q)) ||
            (rc = vkr_op_conv2d(gpu, &mo, &vae->quant_conv_weight, &vae->quant_conv_bias, NULL, &k1, &q)))
            goto fail;
        moments = &q;
    }
    vkr_tensor ms, ls;
    if ((rc = vkr_tensor_slice(moments, 1, 0, lat, &ms)) || (rc = vkr_tensor_slice(moments, 1, lat, lat, &ls)))
        goto fail;
    if (mean && ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ms.ne, mean)) ||
                 (rc = vkr_op_copy(gpu, &ms, mean))))
        goto fail;
    /* DiagonalGaussianDistribution: logvar = clamp(logvar, -30, 20) */
    if (logvar && ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ls.ne, logvar)) ||
                   (rc = vkr_op_clamp(gpu, &ls, -30.0f, 20.0f, logvar))))
        goto fail;
fail:
    if (rc) {
        if (mean)
            vkr_tensor_free(gpu, mean);
        if (logvar)
            vkr_tensor_free(gpu, logvar);
    }
    vkr_tensor_free(gpu, &h);
    vkr_tensor_free(gpu, &d);
    vkr_tensor_free(gpu, &mo);
    vkr_tensor_free(gpu, &q);
    return rc;
}
