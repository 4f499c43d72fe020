/* UNet2DConditionModel: config, weights, forward (diffusers 0.27
 * unet_2d_condition.py), in the configurations AudioLDM and Stable Diffusion use.
 *
 * Heads: UNet2DConditionModel sets num_attention_heads = num_attention_heads
 * or attention_head_dim (a naming bug kept for compatibility, and it refuses
 * an explicit num_attention_heads), and its CrossAttn blocks build
 * Transformer2DModel(num_attention_heads, out_channels // num_attention_heads):
 * the config's attention_head_dim is the NUMBER of heads (AudioLDM: 8 heads,
 * head size channels / 8). The UNet3D passes it the other way round.
 *
 * Time conditioning: temb = time_embedding(time_proj(t)); with a class
 * embedding, class_emb = class_embedding(class_labels) is concatenated
 * (class_embeddings_concat, AudioLDM: the resnets see 2 * time_embed_dim) or
 * added. AudioLDM calls the model with encoder_hidden_states=None: every
 * BasicTransformerBlock's attn2 then attends to its own normalised tokens,
 * which requires cross_attention_dim[block] == the block's channels (AudioLDM
 * sets cross_attention_dim = block_out_channels). */
#include "audio/unet2d.h"

#include "audio/unet2d_blocks.h"
#include "gpu/ops_conv.h"
#include "gpu/ops_eltwise.h"
#include "gpu/ops_misc.h"
#include "gpu/ops_norm.h"
#include "model/diffusers_dir.h"
#include "nn/timestep_embedding.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct vkr_unet2d {
    vkr_unet2d_config cfg;
    vkr_dtype dtype;
    vkr_tensor conv_in_weight, conv_in_bias;
    vkr_timestep_embedding time_embedding;
    vkr_linear class_linear_1, class_linear_2; /* simple_projection: class_embedding; projection: linear_1/2 */
    vkr_unet2d_block down[VKR_UNET2D_MAX_BLOCKS], mid, up[VKR_UNET2D_MAX_BLOCKS];
    vkr_tensor conv_norm_out_weight, conv_norm_out_bias;
    vkr_tensor conv_out_weight, conv_out_bias;
    vkr_unet2d_observer observer;
    void *observer_user;
};

/* ------------------------------------------------------------------ config */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The raw value of a key (NULL when absent); explicit null stays a cJSON null. */
static const cJSON *raw(const vkr_config *c, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive((const cJSON *)c->root, key);
}

/* A key whose only supported value is null / absent. */
static int require_null(const vkr_config *c, const char *key, const char *why)
{
    if (vkr_cfg_has(c, key))
        return vkr_fail(VKR_E_DATA, "%s: %s is not supported (%s)", c->path, key, why);
    return VKR_OK;
}

/* A key that must be false (a bool, or a per-block list of bools). */
static int require_false(const vkr_config *c, const char *key)
{
    const cJSON *v = raw(c, key);
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return VKR_OK;
    if (cJSON_IsArray(v)) {
        const cJSON *e;
        int ok = 1;
        cJSON_ArrayForEach(e, v) ok &= cJSON_IsFalse(e);
        if (ok)
            return VKR_OK;
    }
    return vkr_fail(VKR_E_DATA, "%s: %s must be false (only the default is supported)", c->path, key);
}

/* A string key that must have one value when present. */
static int require_string(const vkr_config *c, const char *key, const char *def, const char *only)
{
    const char *s;
    int rc = vkr_cfg_string(c, key, def, &s);
    if (rc)
        return rc;
    if (strcmp(s, only))
        return vkr_fail(VKR_E_DATA, "%s: %s '%s' is not supported (only '%s')", c->path, key, s, only);
    return VKR_OK;
}

static int block_type(const vkr_config *cfg, const char *key, const char *name, const char *attn, const char *plain,
                      int *has_attention)
{
    if (!strcmp(name, attn))
        *has_attention = 1;
    else if (!strcmp(name, plain))
        *has_attention = 0;
    else
        return vkr_fail(VKR_E_DATA, "%s: %s: unsupported block type '%s' (expected %s or %s)", cfg->path, key, name,
                        attn, plain);
    return VKR_OK;
}

static int config_from(const vkr_config *c, vkr_unet2d_config *u)
{
    static const int def_boc[4] = {320, 640, 1280, 1280};
    static const char *const def_down[4] = {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                            "DownBlock2D"};
    static const char *const def_up[4] = {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                                          "CrossAttnUpBlock2D"};
    const char *down[VKR_UNET2D_MAX_BLOCKS], *up[VKR_UNET2D_MAX_BLOCKS], *act, *mid, *class_type;
    int n_down, n_up, rc, ted;
    double eps, msf, shift;
    bool flip, center, concat;
    memset(u, 0, sizeof *u);
    if ((rc = vkr_cfg_int(c, "in_channels", 4, &u->in_channels)) ||
        (rc = vkr_cfg_int(c, "out_channels", 4, &u->out_channels)) ||
        (rc = vkr_cfg_int_array(c, "block_out_channels", def_boc, 4, u->block_out_channels, VKR_UNET2D_MAX_BLOCKS,
                                &u->n_blocks)) ||
        (rc = vkr_cfg_string_array(c, "down_block_types", def_down, 4, down, VKR_UNET2D_MAX_BLOCKS, &n_down)) ||
        (rc = vkr_cfg_string_array(c, "up_block_types", def_up, 4, up, VKR_UNET2D_MAX_BLOCKS, &n_up)) ||
        (rc = vkr_cfg_int(c, "norm_num_groups", 32, &u->norm_num_groups)) ||
        (rc = vkr_cfg_double(c, "norm_eps", 1e-5, &eps)) ||
        (rc = vkr_cfg_double(c, "mid_block_scale_factor", 1.0, &msf)) ||
        (rc = vkr_cfg_int(c, "downsample_padding", 1, &u->downsample_padding)) ||
        (rc = vkr_cfg_int(c, "conv_in_kernel", 3, &u->conv_in_kernel)) ||
        (rc = vkr_cfg_int(c, "conv_out_kernel", 3, &u->conv_out_kernel)) ||
        (rc = vkr_cfg_bool(c, "center_input_sample", false, &center)) ||
        (rc = vkr_cfg_bool(c, "flip_sin_to_cos", true, &flip)) ||
        (rc = vkr_cfg_double(c, "freq_shift", 0.0, &shift)) ||
        (rc = vkr_cfg_int(c, "time_embedding_dim", 0, &ted)) ||
        (rc = vkr_cfg_string(c, "act_fn", "silu", &act)) ||
        (rc = vkr_cfg_string(c, "mid_block_type", "UNetMidBlock2DCrossAttn", &mid)) ||
        (rc = vkr_cfg_string(c, "class_embed_type", NULL, &class_type)) ||
        (rc = vkr_cfg_int(c, "projection_class_embeddings_input_dim", 0, &u->class_embed_dim)) ||
        (rc = vkr_cfg_bool(c, "class_embeddings_concat", false, &concat)))
        return rc;
    if (u->n_blocks < 1 || n_down != u->n_blocks || n_up != u->n_blocks)
        return vkr_fail(VKR_E_DATA, "%s: %d block_out_channels, %d down_block_types, %d up_block_types", c->path,
                        u->n_blocks, n_down, n_up);
    /* diffusers 0.27 UNet2DConditionModel raises on an explicit num_attention_heads */
    if ((rc = require_null(c, "num_attention_heads", "UNet2DConditionModel reads attention_head_dim as the head count")))
        return rc;
    const cJSON *tl = raw(c, "transformer_layers_per_block");
    if (cJSON_IsArray(tl)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, tl) if (cJSON_IsArray(e)) return vkr_fail(
            VKR_E_DATA, "%s: transformer_layers_per_block: per-layer lists are not supported", c->path);
    }
    if ((rc = vkr_cfg_int_per_block(c, "layers_per_block", u->n_blocks, 2, u->layers_per_block)) ||
        (rc = vkr_cfg_int_per_block(c, "transformer_layers_per_block", u->n_blocks, 1,
                                    u->transformer_layers_per_block)) ||
        (rc = vkr_cfg_int_per_block(c, "attention_head_dim", u->n_blocks, 8, u->num_heads)) ||
        (rc = vkr_cfg_int_per_block(c, "cross_attention_dim", u->n_blocks, 1280, u->cross_attention_dim)))
        return rc;
    /* Features this port does not implement: each is named, never ignored. */
    if ((rc = require_null(c, "reverse_transformer_layers_per_block", "asymmetric UNets")) ||
        (rc = require_null(c, "encoder_hid_dim", "encoder_hid_proj")) ||
        (rc = require_null(c, "encoder_hid_dim_type", "encoder_hid_proj")) ||
        (rc = require_null(c, "addition_embed_type", "added conditioning (SDXL / Kandinsky)")) ||
        (rc = require_null(c, "num_class_embeds", "class embedding tables")) ||
        (rc = require_null(c, "time_cond_proj_dim", "LCM guidance conditioning")) ||
        (rc = require_null(c, "time_embedding_act_fn", "an activation after the embeddings")) ||
        (rc = require_null(c, "timestep_post_act", "an activation after the time embedding")) ||
        (rc = require_false(c, "only_cross_attention")) || (rc = require_false(c, "dual_cross_attention")) ||
        (rc = require_string(c, "time_embedding_type", "positional", "positional")) ||
        (rc = require_string(c, "resnet_time_scale_shift", "default", "default")) ||
        (rc = require_string(c, "attention_type", "default", "default")))
        return rc;
    if (strcmp(act, "silu") && strcmp(act, "swish"))
        return vkr_fail(VKR_E_DATA, "%s: act_fn '%s' is not supported (only silu)", c->path, act);
    /* mid_block_type: absent -> the default cross-attention block; explicit null -> no mid block */
    const cJSON *mv = raw(c, "mid_block_type");
    u->has_mid_block = !(mv && cJSON_IsNull(mv));
    if (u->has_mid_block && strcmp(mid, "UNetMidBlock2DCrossAttn"))
        return vkr_fail(VKR_E_DATA, "%s: mid_block_type '%s' is not supported (only UNetMidBlock2DCrossAttn)",
                        c->path, mid);
    if (!class_type)
        u->class_embed = VKR_UNET2D_CLASS_NONE;
    else if (!strcmp(class_type, "simple_projection"))
        u->class_embed = VKR_UNET2D_CLASS_SIMPLE_PROJECTION;
    else if (!strcmp(class_type, "projection"))
        u->class_embed = VKR_UNET2D_CLASS_PROJECTION;
    else
        return vkr_fail(VKR_E_DATA,
                        "%s: class_embed_type '%s' is not supported (null, simple_projection or projection)", c->path,
                        class_type);
    if (u->class_embed == VKR_UNET2D_CLASS_NONE) {
        u->class_embed_dim = 0;
        concat = false; /* diffusers only concatenates an existing class embedding */
    } else if (u->class_embed_dim < 1) {
        return vkr_fail(VKR_E_DATA, "%s: class_embed_type '%s' needs projection_class_embeddings_input_dim", c->path,
                        class_type);
    }
    for (int i = 0; i < u->n_blocks; i++) {
        if ((rc = block_type(c, "down_block_types", down[i], "CrossAttnDownBlock2D", "DownBlock2D",
                             &u->down_has_attention[i])) ||
            (rc = block_type(c, "up_block_types", up[i], "CrossAttnUpBlock2D", "UpBlock2D", &u->up_has_attention[i])))
            return rc;
        int ch = u->block_out_channels[i], nh = u->num_heads[i];
        if (ch < 1 || nh < 1 || ch % nh || u->norm_num_groups < 1 || ch % u->norm_num_groups)
            return vkr_fail(VKR_E_DATA, "%s: block %d: %d channels, attention_head_dim (heads) %d, %d groups",
                            c->path, i, ch, nh, u->norm_num_groups);
        if (u->layers_per_block[i] < 1 || u->layers_per_block[i] + 1 > VKR_UNET2D_MAX_LAYERS)
            return vkr_fail(VKR_E_DATA, "%s: layers_per_block %d (1..%d supported)", c->path, u->layers_per_block[i],
                            VKR_UNET2D_MAX_LAYERS - 1);
        if (u->transformer_layers_per_block[i] < 1 || u->transformer_layers_per_block[i] > VKR_TRANSFORMER_MAX_LAYERS)
            return vkr_fail(VKR_E_DATA, "%s: transformer_layers_per_block %d (1..%d supported)", c->path,
                            u->transformer_layers_per_block[i], VKR_TRANSFORMER_MAX_LAYERS);
        if (u->cross_attention_dim[i] < 1)
            return vkr_fail(VKR_E_DATA, "%s: cross_attention_dim %d", c->path, u->cross_attention_dim[i]);
    }
    if (u->in_channels < 1 || u->out_channels < 1 || u->downsample_padding < 0 || u->conv_in_kernel < 1 ||
        u->conv_in_kernel % 2 == 0 || u->conv_out_kernel < 1 || u->conv_out_kernel % 2 == 0 ||
        u->block_out_channels[0] % 2 || ted < 0)
        return vkr_fail(VKR_E_DATA,
                        "%s: unsupported hyper-parameters (in/out_channels %d/%d, downsample_padding %d, conv "
                        "kernels %d/%d must be odd, block_out_channels[0] %d must be even)",
                        c->path, u->in_channels, u->out_channels, u->downsample_padding, u->conv_in_kernel,
                        u->conv_out_kernel, u->block_out_channels[0]);
    u->norm_eps = (float)eps;
    u->mid_block_scale_factor = (float)msf;
    u->center_input_sample = center;
    u->flip_sin_to_cos = flip;
    u->freq_shift = (float)shift;
    u->time_embed_dim = ted ? ted : 4 * u->block_out_channels[0];
    u->class_embeddings_concat = concat;
    u->temb_channels = concat ? 2 * u->time_embed_dim : u->time_embed_dim;
    return VKR_OK;
}

/* A pipeline folder (with unet/), or the UNet folder itself. */
static void unet_dir(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s/unet", path);
    if (!is_dir(out))
        snprintf(out, n, "%s", path);
}

int vkr_unet2d_config_load(const char *path, vkr_unet2d_config *cfg)
{
    char dir[4096], cp[4200];
    vkr_config c = {0};
    unet_dir(path, dir, sizeof dir);
    snprintf(cp, sizeof cp, "%s/config.json", dir);
    int rc = vkr_cfg_load(&c, cp);
    if (!rc)
        rc = config_from(&c, cfg);
    vkr_cfg_free(&c);
    return rc;
}

/* ----------------------------------------------------------------- weights */

static int open_weights(const char *dir, vkr_weights **w)
{
    char wp[4200];
    struct stat st;
    snprintf(wp, sizeof wp, "%s/weights.safetensors", dir); /* the golden case layout */
    if (stat(wp, &st) == 0 && S_ISREG(st.st_mode))
        return vkr_weights_open(w, wp);
    vkr_weight_files f = {0};
    int rc = vkr_resolve_weights(dir, VKR_VARIANT_DEFAULT, &f);
    if (rc)
        return rc;
    rc = vkr_weights_open_files(w, (const char *const *)f.paths, f.n_paths, f.index_path);
    vkr_weight_files_free(&f);
    return rc;
}

static int load_conv(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dt, const char *name, int64_t out, int64_t in, int k,
                     vkr_tensor *weight, vkr_tensor *bias)
{
    int rc = vkr_param_loadf(gpu, w, dt, VKR_SHAPE(out, in, k, k), weight, "%s.weight", name);
    return rc ? rc : vkr_param_loadf(gpu, w, dt, VKR_SHAPE(out), bias, "%s.bias", name);
}

static int load_all(vkr_gpu *gpu, vkr_weights *w, vkr_unet2d *u)
{
    const vkr_unet2d_config *c = &u->cfg;
    const vkr_dtype dt = u->dtype;
    const int nb = c->n_blocks, g = c->norm_num_groups;
    const int64_t c0 = c->block_out_channels[0], ted = c->time_embed_dim;
    char p[256];
    int rc;
    if ((rc = load_conv(gpu, w, dt, "conv_in", c0, c->in_channels, c->conv_in_kernel, &u->conv_in_weight,
                        &u->conv_in_bias)))
        return rc;
    /* Timesteps(block_out_channels[0], flip_sin_to_cos, freq_shift) -> TimestepEmbedding(c0, ted, act_fn) */
    vkr_timestep_params tp = {.flip_sin_to_cos = c->flip_sin_to_cos, .downscale_freq_shift = c->freq_shift};
    if ((rc = vkr_timestep_embedding_load(gpu, w, dt, "time_embedding", c0, ted, &tp, VKR_UNARY_SILU,
                                          &u->time_embedding)))
        return rc;
    if (c->class_embed == VKR_UNET2D_CLASS_SIMPLE_PROJECTION &&
        (rc = vkr_linear_load(gpu, w, dt, "class_embedding", c->class_embed_dim, ted, true, &u->class_linear_1)))
        return rc;
    if (c->class_embed == VKR_UNET2D_CLASS_PROJECTION &&
        ((rc = vkr_linear_load(gpu, w, dt, "class_embedding.linear_1", c->class_embed_dim, ted, true,
                               &u->class_linear_1)) ||
         (rc = vkr_linear_load(gpu, w, dt, "class_embedding.linear_2", ted, ted, true, &u->class_linear_2))))
        return rc;
    int64_t out_ch = c0;
    for (int i = 0; i < nb; i++) {
        int64_t in_ch = out_ch;
        out_ch = c->block_out_channels[i];
        vkr_unet2d_block_spec s = {
            .in_channels = in_ch, .out_channels = out_ch, .temb_channels = c->temb_channels,
            .cross_dim = c->cross_attention_dim[i], .heads = c->num_heads[i], .n_layers = c->layers_per_block[i],
            .transformer_layers = c->transformer_layers_per_block[i], .has_attention = c->down_has_attention[i],
            .add_sampler = i < nb - 1, .groups = g, .downsample_padding = c->downsample_padding, .eps = c->norm_eps,
            .output_scale_factor = 1};
        snprintf(p, sizeof p, "down_blocks.%d", i);
        if ((rc = vkr_unet2d_block_load(gpu, w, dt, p, VKR_UNET2D_DOWN, &s, &u->down[i])))
            return rc;
    }
    const int64_t cl = c->block_out_channels[nb - 1];
    if (c->has_mid_block) {
        vkr_unet2d_block_spec ms = {
            .in_channels = cl, .out_channels = cl, .temb_channels = c->temb_channels,
            .cross_dim = c->cross_attention_dim[nb - 1], .heads = c->num_heads[nb - 1], .n_layers = 2,
            .transformer_layers = c->transformer_layers_per_block[nb - 1], .has_attention = 1, .groups = g,
            .eps = c->norm_eps, .output_scale_factor = c->mid_block_scale_factor};
        if ((rc = vkr_unet2d_block_load(gpu, w, dt, "mid_block", VKR_UNET2D_MID, &ms, &u->mid)))
            return rc;
    }
    out_ch = cl;
    for (int i = 0; i < nb; i++) {
        const int r = nb - 1 - i; /* the matching down block: diffusers' reversed per-block lists */
        int64_t prev = out_ch;
        out_ch = c->block_out_channels[r];
        int64_t in_ch = c->block_out_channels[r - 1 < 0 ? 0 : r - 1];
        vkr_unet2d_block_spec s = {
            .in_channels = in_ch, .out_channels = out_ch, .prev_output_channels = prev,
            .temb_channels = c->temb_channels, .cross_dim = c->cross_attention_dim[r], .heads = c->num_heads[r],
            .n_layers = c->layers_per_block[r] + 1, .transformer_layers = c->transformer_layers_per_block[r],
            .has_attention = c->up_has_attention[i], .add_sampler = i < nb - 1, .groups = g, .eps = c->norm_eps,
            .output_scale_factor = 1};
        snprintf(p, sizeof p, "up_blocks.%d", i);
        if ((rc = vkr_unet2d_block_load(gpu, w, dt, p, VKR_UNET2D_UP, &s, &u->up[i])))
            return rc;
    }
    if ((rc = vkr_param_loadf(gpu, w, dt, VKR_SHAPE(c0), &u->conv_norm_out_weight, "conv_norm_out.weight")) ||
        (rc = vkr_param_loadf(gpu, w, dt, VKR_SHAPE(c0), &u->conv_norm_out_bias, "conv_norm_out.bias")) ||
        (rc = load_conv(gpu, w, dt, "conv_out", c->out_channels, c0, c->conv_out_kernel, &u->conv_out_weight,
                        &u->conv_out_bias)))
        return rc;
    return vkr_weights_check_all_used(w);
}

int vkr_unet2d_load(vkr_gpu *gpu, const char *path, vkr_dtype dtype, vkr_unet2d **out)
{
    char dir[4096], cfg_path[4200];
    vkr_weights *w = NULL;
    vkr_config c = {0};
    vkr_unet2d *u = NULL;
    int rc;
    *out = NULL;
    if (dtype != VKR_F32 && dtype != VKR_F16 && dtype != VKR_BF16)
        return vkr_fail(VKR_E_USAGE, "unet2d: weight dtype must be f32, f16 or bf16");
    if (!(u = calloc(1, sizeof *u)))
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    u->dtype = dtype;
    unet_dir(path, dir, sizeof dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    if ((rc = vkr_cfg_load(&c, cfg_path)) || (rc = config_from(&c, &u->cfg)) || (rc = open_weights(dir, &w)) ||
        (rc = load_all(gpu, w, u)))
        goto fail;
    *out = u;
    u = NULL;
fail:
    vkr_cfg_free(&c);
    if (w)
        vkr_weights_close(w);
    free(u); /* weight tensors live in the arena until vkr_gpu_weights_reset() */
    return rc;
}

void vkr_unet2d_free(vkr_unet2d *unet)
{
    free(unet);
}

const vkr_unet2d_config *vkr_unet2d_get_config(const vkr_unet2d *unet)
{
    return &unet->cfg;
}

int vkr_unet2d_in_channels(const vkr_unet2d *unet)
{
    return unet->cfg.in_channels;
}

int vkr_unet2d_out_channels(const vkr_unet2d *unet)
{
    return unet->cfg.out_channels;
}

int vkr_unet2d_downsample_factor(const vkr_unet2d *unet)
{
    return 1 << (unet->cfg.n_blocks - 1);
}

int vkr_unet2d_class_embed_dim(const vkr_unet2d *unet)
{
    return unet->cfg.class_embed_dim;
}

void vkr_unet2d_set_observer(vkr_unet2d *unet, vkr_unet2d_observer fn, void *user)
{
    unet->observer = fn;
    unet->observer_user = user;
}

/* ----------------------------------------------------------------- forward */

static int observe(const vkr_unet2d *u, const char *name, const vkr_tensor *t)
{
    return u->observer ? u->observer(u->observer_user, name, t) : VKR_OK;
}

static void free_skips(vkr_gpu *gpu, vkr_unet2d_skips *s)
{
    while (s->n > 0)
        vkr_tensor_free(gpu, &s->t[--s->n]);
}

/* The attention blocks the forward pass runs must accept the given context:
 * encoder_hidden_states of width d, or (d == 0, None) the block's own tokens. */
static int check_context(const vkr_unet2d_config *c, int64_t d)
{
    for (int i = 0; i < c->n_blocks; i++) {
        const int r = c->n_blocks - 1 - i;
        int used = c->down_has_attention[i] || c->up_has_attention[r] || (i == c->n_blocks - 1 && c->has_mid_block);
        int64_t want = d ? d : c->block_out_channels[i];
        if (used && c->cross_attention_dim[i] != want)
            return vkr_fail(VKR_E_USAGE,
                            d ? "unet2d: encoder_hidden_states width %lld, but block %d has cross_attention_dim %d"
                              : "unet2d: encoder_hidden_states is None, so attn2 attends to the %lld-channel tokens "
                                "of block %d, but its cross_attention_dim is %d",
                            (long long)want, i, c->cross_attention_dim[i]);
    }
    return VKR_OK;
}

/* temb = time_embedding(time_proj(t)) (+ or cat) class_embedding(class_labels) */
static int embeddings(vkr_gpu *gpu, const vkr_unet2d *u, const vkr_tensor *timesteps, const vkr_tensor *class_labels,
                      int64_t n, vkr_dtype dt, vkr_tensor *temb)
{
    const vkr_unet2d_config *c = &u->cfg;
    const int64_t ted = c->time_embed_dim;
    const int64_t sne[VKR_DIMS] = {1, 1, 1, n, c->block_out_channels[0]}, ene[VKR_DIMS] = {1, 1, 1, n, ted};
    const int64_t tne[VKR_DIMS] = {1, 1, 1, n, c->temb_channels};
    vkr_tensor sin = {0}, emb = {0}, lab = {0}, hid = {0}, cls = {0}, lv;
    int rc;
    *temb = (vkr_tensor){0};
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, sne, &sin)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ene, &emb)) ||
        (rc = vkr_timestep_embedding_forward(gpu, &u->time_embedding, timesteps, &sin, &emb)) ||
        (rc = observe(u, "time_proj", &sin)) || (rc = observe(u, "time_embedding", &emb)))
        goto fail;
    if (c->class_embed == VKR_UNET2D_CLASS_NONE) {
        *temb = emb;
        emb = (vkr_tensor){0};
        goto fail; /* done: only the cleanup below */
    }
    /* class_labels in the activation dtype, {1, 1, 1, N, P} */
    const int64_t lne[VKR_DIMS] = {1, 1, 1, n, c->class_embed_dim};
    vkr_tensor lc = *class_labels;
    if (!vkr_tensor_is_contiguous(&lc)) {
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, class_labels->ne, &lab)) ||
            (rc = vkr_op_copy(gpu, class_labels, &lab)))
            goto fail;
        lc = lab;
    }
    if ((rc = vkr_tensor_reshape(&lc, lne, &lv)))
        goto fail;
    if (lv.dtype != dt) {
        vkr_tensor conv = {0};
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, lne, &conv)) || (rc = vkr_op_copy(gpu, &lv, &conv))) {
            vkr_tensor_free(gpu, &conv);
            goto fail;
        }
        vkr_tensor_free(gpu, &lab);
        lab = conv;
        lv = lab;
    }
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ene, &cls)))
        goto fail;
    if (c->class_embed == VKR_UNET2D_CLASS_SIMPLE_PROJECTION) {
        if ((rc = vkr_linear_forward(gpu, &u->class_linear_1, &lv, VKR_UNARY_IDENTITY, NULL, &cls)))
            goto fail;
    } else if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ene, &hid)) ||
               (rc = vkr_linear_forward(gpu, &u->class_linear_1, &lv, VKR_UNARY_SILU, NULL, &hid)) ||
               (rc = vkr_linear_forward(gpu, &u->class_linear_2, &hid, VKR_UNARY_IDENTITY, NULL, &cls))) {
        goto fail;
    }
    if ((rc = observe(u, "class_embedding", &cls)))
        goto fail;
    if (c->class_embeddings_concat) {
        /* emb = torch.cat([emb, class_emb], dim=-1) */
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, tne, temb)) ||
            (rc = vkr_op_concat(gpu, &emb, &cls, VKR_DIM_W, temb)))
            goto fail;
    } else {
        if ((rc = vkr_op_add(gpu, &emb, &cls, &emb)))
            goto fail;
        *temb = emb;
        emb = (vkr_tensor){0};
    }
fail:
    if (rc)
        vkr_tensor_free(gpu, temb);
    vkr_tensor_free(gpu, &sin);
    vkr_tensor_free(gpu, &emb);
    vkr_tensor_free(gpu, &lab);
    vkr_tensor_free(gpu, &hid);
    vkr_tensor_free(gpu, &cls);
    return rc;
}

static vkr_conv2d_params same_padding(int k)
{
    const int p = (k - 1) / 2;
    return (vkr_conv2d_params){.pad_top = p, .pad_bottom = p, .pad_left = p, .pad_right = p};
}

int vkr_unet2d_forward(vkr_gpu *gpu, const vkr_unet2d *u, const vkr_tensor *sample, const vkr_tensor *timesteps,
                       const vkr_tensor *class_labels, const vkr_tensor *encoder_hidden_states, vkr_tensor *out)
{
    const vkr_unet2d_config *c = &u->cfg;
    const int64_t n = sample->ne[0], h = sample->ne[3], wd = sample->ne[4];
    const int64_t c0 = c->block_out_channels[0];
    const vkr_dtype dt = sample->dtype;
    const vkr_tensor *e = encoder_hidden_states;
    vkr_tensor temb = {0}, centered = {0}, x = {0}, y = {0}, ctx_seq;
    vkr_unet2d_skips skips = {.n = 0};
    int rc;
    *out = (vkr_tensor){0};
    if (sample->ne[1] != c->in_channels || sample->ne[2] != 1 || vkr_tensor_nelem(timesteps) != n)
        return vkr_fail(VKR_E_USAGE,
                        "unet2d: sample {%lld, %lld, %lld, %lld, %lld} must be (N, in_channels %d, 1, H, W) with "
                        "%lld timesteps (got %lld)",
                        (long long)n, (long long)sample->ne[1], (long long)sample->ne[2], (long long)h, (long long)wd,
                        c->in_channels, (long long)n, (long long)vkr_tensor_nelem(timesteps));
    if (c->class_embed != VKR_UNET2D_CLASS_NONE &&
        (!class_labels || vkr_tensor_nelem(class_labels) != n * c->class_embed_dim))
        return vkr_fail(VKR_E_USAGE, "unet2d: class_labels must hold N x %d = %lld values (got %lld)",
                        c->class_embed_dim, (long long)(n * c->class_embed_dim),
                        class_labels ? (long long)vkr_tensor_nelem(class_labels) : 0LL);
    if (e) {
        const int64_t l = e->ne[3], d = e->ne[4];
        const int64_t cne[VKR_DIMS] = {1, 1, n, l, d};
        if (e->ne[0] * e->ne[1] * e->ne[2] != n)
            return vkr_fail(VKR_E_USAGE, "unet2d: encoder_hidden_states has %lld sequences for a batch of %lld",
                            (long long)(e->ne[0] * e->ne[1] * e->ne[2]), (long long)n);
        if ((rc = check_context(c, d)) || (rc = vkr_tensor_reshape(e, cne, &ctx_seq)))
            return rc;
    } else if ((rc = check_context(c, 0))) {
        return rc;
    }
    vkr_unet2d_ctx bc = {.temb = &temb, .context = e ? &ctx_seq : NULL};
    if ((rc = embeddings(gpu, u, timesteps, class_labels, n, dt, &temb)))
        goto fail;
    /* center_input_sample: 2 * sample - 1 */
    const vkr_tensor *in = sample;
    if (c->center_input_sample) {
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, sample->ne, &centered)) ||
            (rc = vkr_op_scale_shift(gpu, sample, 2.0f, -1.0f, &centered)))
            goto fail;
        in = &centered;
    }
    /* conv_in: the first skip */
    {
        const int64_t xne[VKR_DIMS] = {n, c0, 1, h, wd};
        const vkr_conv2d_params cp = same_padding(c->conv_in_kernel);
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, xne, &x)) ||
            (rc = vkr_op_conv2d(gpu, in, &u->conv_in_weight, &u->conv_in_bias, NULL, &cp, &x)) ||
            (rc = observe(u, "conv_in", &x)))
            goto fail;
        vkr_tensor_free(gpu, &centered);
        skips.t[skips.n++] = x; /* x is owned by skips from here */
    }
    char name[32];
    for (int i = 0; i < c->n_blocks; i++) {
        if ((rc = vkr_unet2d_down_forward(gpu, &u->down[i], &x, &bc, &skips, &x)))
            goto fail;
        snprintf(name, sizeof name, "down_blocks.%d", i);
        if ((rc = observe(u, name, &x)))
            goto fail;
    }
    if (c->has_mid_block) {
        if ((rc = vkr_unet2d_mid_forward(gpu, &u->mid, &x, &bc, &y)) || (rc = observe(u, "mid_block", &y)))
            goto fail;
    } else {
        /* no mid block: the up path starts from a copy of the last skip */
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, x.ne, &y)) || (rc = vkr_op_copy(gpu, &x, &y)))
            goto fail;
    }
    x = y; /* owned here now */
    y = (vkr_tensor){0};
    for (int i = 0; i < c->n_blocks; i++) {
        if ((rc = vkr_unet2d_up_forward(gpu, &u->up[i], &x, &bc, &skips, &x)))
            goto fail;
        snprintf(name, sizeof name, "up_blocks.%d", i);
        if ((rc = observe(u, name, &x)))
            goto fail;
    }
    /* conv_norm_out (GroupNorm, norm_eps) -> SiLU -> conv_out; fused unless observed */
    {
        vkr_group_norm_params gp = {.groups = c->norm_num_groups, .eps = c->norm_eps, .per_frame = 1,
                                    .silu = u->observer == NULL};
        const int64_t one[VKR_DIMS] = {n, c->out_channels, 1, h, wd};
        const vkr_conv2d_params cp = same_padding(c->conv_out_kernel);
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, x.ne, &y)) ||
            (rc = vkr_op_group_norm(gpu, &x, &u->conv_norm_out_weight, &u->conv_norm_out_bias, &gp, &y)))
            goto fail;
        if (u->observer && ((rc = observe(u, "conv_norm_out", &y)) || (rc = vkr_op_silu(gpu, &y, &y))))
            goto fail;
        vkr_tensor_free(gpu, &x);
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, one, out)) ||
            (rc = vkr_op_conv2d(gpu, &y, &u->conv_out_weight, &u->conv_out_bias, NULL, &cp, out)) ||
            (rc = observe(u, "conv_out", out)))
            goto fail;
    }
fail:
    if (rc)
        vkr_tensor_free(gpu, out);
    vkr_tensor_free(gpu, &temb);
    vkr_tensor_free(gpu, &centered);
    /* x is either owned by the skip stack (down path), or ours (from the mid block on) */
    if (skips.n == 0 || x.block != skips.t[skips.n - 1].block || x.offset != skips.t[skips.n - 1].offset)
        vkr_tensor_free(gpu, &x);
    vkr_tensor_free(gpu, &y);
    free_skips(gpu, &skips);
    return rc;
}
