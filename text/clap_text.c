/* transformers ClapTextModelWithProjection forward on the Vulkan engine. */
#include "text/clap_text.h"

#include "gpu/ops_misc.h"
#include "gpu/ops_norm.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vkr_clap_text_config_read(const vkr_config *cfg, vkr_clap_text_config *c)
{
    const char *act = NULL, *proj_act = NULL, *pos_type = NULL;
    double eps = 0;
    int rc;
    memset(c, 0, sizeof *c);
    /* Defaults: transformers 4.38 ClapTextConfig.__init__. */
    if ((rc = vkr_cfg_int(cfg, "vocab_size", 50265, &c->vocab_size)) ||
        (rc = vkr_cfg_int(cfg, "hidden_size", 768, &c->hidden_size)) ||
        (rc = vkr_cfg_int(cfg, "intermediate_size", 3072, &c->intermediate_size)) ||
        (rc = vkr_cfg_int(cfg, "num_hidden_layers", 12, &c->num_hidden_layers)) ||
        (rc = vkr_cfg_int(cfg, "num_attention_heads", 12, &c->num_attention_heads)) ||
        (rc = vkr_cfg_int(cfg, "max_position_embeddings", 514, &c->max_position_embeddings)) ||
        (rc = vkr_cfg_int(cfg, "type_vocab_size", 1, &c->type_vocab_size)) ||
        (rc = vkr_cfg_int(cfg, "projection_dim", 512, &c->projection_dim)) ||
        (rc = vkr_cfg_int(cfg, "pad_token_id", 1, &c->pad_token_id)) ||
        (rc = vkr_cfg_double(cfg, "layer_norm_eps", 1e-12, &eps)) ||
        (rc = vkr_cfg_string(cfg, "hidden_act", "gelu", &act)) ||
        (rc = vkr_cfg_string(cfg, "projection_hidden_act", "relu", &proj_act)) ||
        (rc = vkr_cfg_string(cfg, "position_embedding_type", "absolute", &pos_type)))
        return rc;
    c->layer_norm_eps = (float)eps;
    if ((rc = vkr_activation_from_name(act, cfg->path, &c->hidden_act)) ||
        (rc = vkr_activation_from_name(proj_act, cfg->path, &c->projection_hidden_act)))
        return rc;
    if (strcmp(pos_type, "absolute") != 0)
        return vkr_fail(VKR_E_DATA, "%s: position_embedding_type \"%s\" is not supported (only \"absolute\")",
                        cfg->path, pos_type);
    if (c->vocab_size < 1 || c->hidden_size < 1 || c->intermediate_size < 1 || c->num_hidden_layers < 0 ||
        c->num_attention_heads < 1 || c->max_position_embeddings < 1 || c->type_vocab_size < 1 ||
        c->projection_dim < 1 || !(eps > 0))
        return vkr_fail(VKR_E_DATA, "%s: CLAP text config has a non-positive size or eps", cfg->path);
    if (c->hidden_size % c->num_attention_heads)
        return vkr_fail(VKR_E_DATA, "%s: hidden_size %d is not divisible by num_attention_heads %d", cfg->path,
                        c->hidden_size, c->num_attention_heads);
    if (c->pad_token_id < 0 || c->pad_token_id >= c->max_position_embeddings)
        return vkr_fail(VKR_E_DATA, "%s: pad_token_id %d is not a position (max_position_embeddings %d)",
                        cfg->path, c->pad_token_id, c->max_position_embeddings);
    return VKR_OK;
}

static int load_layer(vkr_gpu *gpu, const vkr_clap_text_config *c, vkr_weights *w, vkr_dtype dtype, int i,
                      vkr_clap_text_layer *l)
{
    char p[160], name[200];
    const int64_t d = c->hidden_size, inter = c->intermediate_size;
    const float eps = c->layer_norm_eps;
    int rc;
    snprintf(p, sizeof p, "text_model.encoder.layer.%d", i);
#define SUB(s) (snprintf(name, sizeof name, "%s.%s", p, s), name)
    if ((rc = vkr_attention_block_load(gpu, w, dtype, SUB("attention"), &vkr_attention_names_bert, d, d, d,
                                       c->num_attention_heads, &l->attention)) ||
        (rc = vkr_layer_norm_load(gpu, w, dtype, SUB("attention.output.LayerNorm"), d, eps,
                                  &l->attention_layer_norm)) ||
        (rc = vkr_linear_load(gpu, w, dtype, SUB("intermediate.dense"), d, inter, true, &l->intermediate)) ||
        (rc = vkr_linear_load(gpu, w, dtype, SUB("output.dense"), inter, d, true, &l->output)) ||
        (rc = vkr_layer_norm_load(gpu, w, dtype, SUB("output.LayerNorm"), d, eps, &l->output_layer_norm)))
        return rc;
#undef SUB
    return VKR_OK;
}

int vkr_clap_text_load(vkr_gpu *gpu, const vkr_clap_text_config *config, vkr_weights *w, vkr_dtype dtype,
                       vkr_clap_text *m)
{
    const vkr_clap_text_config *c = config;
    const int64_t d = c->hidden_size, p = c->projection_dim;
    vkr_tensor token_type;
    int rc;
    memset(m, 0, sizeof *m);
    m->config = *config;
    m->dtype = dtype;
    m->layers = calloc(c->num_hidden_layers ? (size_t)c->num_hidden_layers : 1, sizeof *m->layers);
    if (!m->layers)
        return vkr_fail(VKR_E_INTERNAL, "CLAP text model: out of memory");
    if ((rc = vkr_param_load(gpu, w, "text_model.embeddings.word_embeddings.weight", dtype,
                             VKR_SHAPE(c->vocab_size, d), &m->word_embeddings)) ||
        (rc = vkr_param_load(gpu, w, "text_model.embeddings.position_embeddings.weight", dtype,
                             VKR_SHAPE(c->max_position_embeddings, d), &m->position_embeddings)) ||
        (rc = vkr_param_load(gpu, w, "text_model.embeddings.token_type_embeddings.weight", dtype,
                             VKR_SHAPE(c->type_vocab_size, d), &token_type)) ||
        (rc = vkr_tensor_slice(&token_type, VKR_DIM_H, 0, 1, &m->token_type_embedding0)) ||
        (rc = vkr_layer_norm_load(gpu, w, dtype, "text_model.embeddings.LayerNorm", d, c->layer_norm_eps,
                                  &m->embeddings_layer_norm)))
        goto fail;
    for (int i = 0; i < c->num_hidden_layers; i++)
        if ((rc = load_layer(gpu, c, w, dtype, i, &m->layers[i])))
            goto fail;
    if ((rc = vkr_linear_load(gpu, w, dtype, "text_model.pooler.dense", d, d, true, &m->pooler)) ||
        (rc = vkr_linear_load(gpu, w, dtype, "text_projection.linear1", d, p, true, &m->linear1)) ||
        (rc = vkr_linear_load(gpu, w, dtype, "text_projection.linear2", p, p, true, &m->linear2)))
        goto fail;
    /* Buffers transformers saves (persistent in 4.38): arange and zeros, recomputed here. */
    vkr_weights_skip(w, "text_model.embeddings.position_ids");
    vkr_weights_skip(w, "text_model.embeddings.token_type_ids");
    if ((rc = vkr_weights_check_all_used(w)))
        goto fail;
    return VKR_OK;
fail:
    vkr_clap_text_free(m);
    return rc;
}

int vkr_clap_text_load_dir(vkr_gpu *gpu, const char *dir, vkr_variant variant, vkr_dtype dtype,
                           vkr_clap_text *m)
{
    vkr_config cfg;
    vkr_weights *w;
    vkr_clap_text_config c;
    memset(m, 0, sizeof *m);
    int rc = vkr_open_component_dir(dir, variant, &cfg, &w);
    if (rc)
        return rc;
    if ((rc = vkr_clap_text_config_read(&cfg, &c)) == VKR_OK)
        rc = vkr_clap_text_load(gpu, &c, w, dtype, m);
    vkr_weights_close(w);
    vkr_cfg_free(&cfg);
    return rc;
}

void vkr_clap_text_free(vkr_clap_text *m)
{
    free(m->layers);
    m->layers = NULL;
}

void vkr_clap_text_position_ids(int64_t pad_token_id, const int64_t *ids, int64_t seq, int64_t *pos)
{
    int64_t count = 0;
    for (int64_t t = 0; t < seq; t++) {
        int real = ids[t] != pad_token_id;
        count += real;
        pos[t] = count * real + pad_token_id;
    }
}

/* Post-LN layer: h = LN(x + attn(x)); y = LN(h + output(act(intermediate(h)))). */
static int layer_forward(vkr_gpu *gpu, const vkr_clap_text *m, const vkr_clap_text_layer *l, const vkr_tensor *x,
                         const vkr_tensor *mask, const vkr_tensor *y)
{
    vkr_tensor h = {0}, mlp = {0};
    int64_t ne_mlp[VKR_DIMS];
    int rc;
    memcpy(ne_mlp, x->ne, sizeof ne_mlp);
    ne_mlp[VKR_DIM_W] = m->config.intermediate_size;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, x->ne, &h)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, ne_mlp, &mlp)))
        goto fail;
    vkr_attention_block_args args = {.mask = mask, .residual = x};
    if ((rc = vkr_attention_block_forward(gpu, &l->attention, x, NULL, &args, &h)) ||
        (rc = vkr_layer_norm_forward(gpu, &l->attention_layer_norm, &h, &h)) ||
        (rc = vkr_linear_forward(gpu, &l->intermediate, &h, m->config.hidden_act, NULL, &mlp)) ||
        (rc = vkr_linear_forward(gpu, &l->output, &mlp, VKR_UNARY_IDENTITY, &h, y)) ||
        (rc = vkr_layer_norm_forward(gpu, &l->output_layer_norm, y, y)))
        goto fail;
fail:
    vkr_tensor_free(gpu, &h);
    vkr_tensor_free(gpu, &mlp);
    return rc;
}

/* x = LN(word[ids] + token_type[0] + position[pos]) (transformers' summation order). */
static int embeddings_forward(vkr_gpu *gpu, const vkr_clap_text *m, const int64_t *ids, int64_t batch,
                              int64_t seq, const vkr_tensor *x)
{
    const vkr_clap_text_config *c = &m->config;
    vkr_tensor ids_t = {0}, pos_t = {0}, pos_emb = {0};
    int64_t *pos = malloc((size_t)(batch * seq) * sizeof *pos);
    int rc;
    if (!pos)
        return vkr_fail(VKR_E_INTERNAL, "CLAP text: out of memory");
    for (int64_t b = 0; b < batch; b++)
        vkr_clap_text_position_ids(c->pad_token_id, ids + b * seq, seq, pos + b * seq);
    if ((rc = vkr_embedding_ids_upload(gpu, ids, VKR_I64, batch * seq, c->vocab_size, &ids_t)))
        goto fail;
    if ((rc = vkr_embedding_ids_upload(gpu, pos, VKR_I64, batch * seq, c->max_position_embeddings, &pos_t))) {
        rc = vkr_fail_context(rc, "CLAP text: %lld tokens need more than max_position_embeddings %d positions",
                              (long long)seq, c->max_position_embeddings);
        goto fail;
    }
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, x->ne, &pos_emb)) ||
        (rc = vkr_op_embedding(gpu, &ids_t, &m->word_embeddings, NULL, x)) ||
        (rc = vkr_op_embedding(gpu, &pos_t, &m->position_embeddings, NULL, &pos_emb)) ||
        (rc = vkr_op_add(gpu, x, &m->token_type_embedding0, x)) ||
        (rc = vkr_op_add(gpu, x, &pos_emb, x)) ||
        (rc = vkr_layer_norm_forward(gpu, &m->embeddings_layer_norm, x, x)))
        goto fail;
fail:
    vkr_tensor_free(gpu, &ids_t);
    vkr_tensor_free(gpu, &pos_t);
    vkr_tensor_free(gpu, &pos_emb);
    free(pos);
    return rc;
}

/* Additive key-padding mask {1, B, 1, 1, T}: (1 - mask) * finfo(float32).min. */
static int upload_mask(vkr_gpu *gpu, vkr_dtype dtype, const int64_t *attention_mask, int64_t batch, int64_t seq,
                       vkr_tensor *mask)
{
    const int64_t ne[VKR_DIMS] = {1, batch, 1, 1, seq};
    float *host = malloc((size_t)(batch * seq) * sizeof *host);
    int rc;
    if (!host)
        return vkr_fail(VKR_E_INTERNAL, "CLAP text: out of memory");
    for (int64_t i = 0; i < batch * seq; i++)
        host[i] = (1.0f - (float)attention_mask[i]) * -FLT_MAX;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dtype, ne, mask)) ||
        (rc = vkr_tensor_upload(gpu, mask, host, VKR_F32)))
        vkr_tensor_free(gpu, mask);
    free(host);
    return rc;
}

int vkr_clap_text_forward(vkr_gpu *gpu, const vkr_clap_text *m, const int64_t *ids, const int64_t *attention_mask,
                          int64_t batch, int64_t seq, int want_hidden_states, vkr_clap_text_output *out)
{
    const vkr_clap_text_config *c = &m->config;
    const int64_t ne[VKR_DIMS] = {1, 1, batch, seq, c->hidden_size};
    const int64_t ne_pool[VKR_DIMS] = {1, 1, batch, 1, c->hidden_size};
    const int64_t ne_proj[VKR_DIMS] = {1, 1, batch, 1, c->projection_dim};
    vkr_tensor x = {0}, mask = {0}, proj_hidden = {0}, first;
    int rc;

    memset(out, 0, sizeof *out);
    if (batch < 1 || seq < 1)
        return vkr_fail(VKR_E_DATA, "CLAP text: %lld x %lld tokens", (long long)batch, (long long)seq);
    if (want_hidden_states) {
        out->hidden_states = calloc((size_t)c->num_hidden_layers + 1, sizeof *out->hidden_states);
        if (!out->hidden_states)
            return vkr_fail(VKR_E_INTERNAL, "CLAP text: out of memory");
        out->n_hidden_states = c->num_hidden_layers + 1;
    }
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne, &x)) ||
        (rc = embeddings_forward(gpu, m, ids, batch, seq, &x)))
        goto fail;
    if (attention_mask) {
        for (int64_t i = 0; i < batch * seq; i++)
            if (attention_mask[i] != 0 && attention_mask[i] != 1) {
                rc = vkr_fail(VKR_E_DATA, "CLAP text: attention_mask[%lld] = %lld, expected 0 or 1", (long long)i,
                              (long long)attention_mask[i]);
                goto fail;
            }
        if ((rc = upload_mask(gpu, m->dtype, attention_mask, batch, seq, &mask)))
            goto fail;
    }
    for (int i = 0; i < c->num_hidden_layers; i++) {
        vkr_tensor y = {0};
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne, &y)) ||
            (rc = layer_forward(gpu, m, &m->layers[i], &x, attention_mask ? &mask : NULL, &y))) {
            vkr_tensor_free(gpu, &y);
            goto fail;
        }
        if (want_hidden_states)
            out->hidden_states[i] = x;
        else
            vkr_tensor_free(gpu, &x);
        x = y;
    }
    /* Pooler on the first token (<s>), then the projection head and the pipeline's L2 normalisation. */
    if ((rc = vkr_tensor_slice(&x, VKR_DIM_H, 0, 1, &first)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne_pool, &out->pooler_output)) ||
        (rc = vkr_linear_forward(gpu, &m->pooler, &first, VKR_UNARY_TANH, NULL, &out->pooler_output)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne_proj, &proj_hidden)) ||
        (rc = vkr_linear_forward(gpu, &m->linear1, &out->pooler_output, c->projection_hidden_act, NULL,
                                 &proj_hidden)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne_proj, &out->text_embeds)) ||
        (rc = vkr_linear_forward(gpu, &m->linear2, &proj_hidden, VKR_UNARY_IDENTITY, NULL, &out->text_embeds)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne_proj, &out->text_embeds_normalized)) ||
        (rc = vkr_op_l2_normalize(gpu, &out->text_embeds, 1e-12f, &out->text_embeds_normalized)))
        goto fail;
    /* Post-LN: the last layer's output is last_hidden_state (no final norm). */
    if (want_hidden_states) {
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne, &out->last_hidden_state)) ||
            (rc = vkr_op_copy(gpu, &x, &out->last_hidden_state)))
            goto fail;
        out->hidden_states[c->num_hidden_layers] = x;
    } else {
        out->last_hidden_state = x;
    }
    vkr_tensor_free(gpu, &mask);
    vkr_tensor_free(gpu, &proj_hidden);
    return VKR_OK;
fail:
    vkr_tensor_free(gpu, &x);
    vkr_tensor_free(gpu, &mask);
    vkr_tensor_free(gpu, &proj_hidden);
    vkr_clap_text_output_free(gpu, out);
    return rc;
}

void vkr_clap_text_output_free(vkr_gpu *gpu, vkr_clap_text_output *out)
{
    vkr_tensor_free(gpu, &out->last_hidden_state);
    vkr_tensor_free(gpu, &out->pooler_output);
    vkr_tensor_free(gpu, &out->text_embeds);
    vkr_tensor_free(gpu, &out->text_embeds_normalized);
    for (int i = 0; i < out->n_hidden_states; i++)
        vkr_tensor_free(gpu, &out->hidden_states[i]);
    free(out->hidden_states);
    memset(out, 0, sizeof *out);
}
