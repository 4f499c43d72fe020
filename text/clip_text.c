/* transformers CLIPTextModel forward on the Vulkan engine. */
#include "text/clip_text.h"

#include "gpu/ops_misc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vkr_clip_text_config_read(const vkr_config *cfg, vkr_clip_text_config *c)
{
    const char *act = NULL;
    double eps = 0;
    int rc;
    memset(c, 0, sizeof *c);
    /* Defaults: transformers 4.38 CLIPTextConfig.__init__. */
    if ((rc = vkr_cfg_int(cfg, "vocab_size", 49408, &c->vocab_size)) ||
        (rc = vkr_cfg_int(cfg, "hidden_size", 512, &c->hidden_size)) ||
        (rc = vkr_cfg_int(cfg, "intermediate_size", 2048, &c->intermediate_size)) ||
        (rc = vkr_cfg_int(cfg, "num_hidden_layers", 12, &c->num_hidden_layers)) ||
        (rc = vkr_cfg_int(cfg, "num_attention_heads", 8, &c->num_attention_heads)) ||
        (rc = vkr_cfg_int(cfg, "max_position_embeddings", 77, &c->max_position_embeddings)) ||
        (rc = vkr_cfg_double(cfg, "layer_norm_eps", 1e-5, &eps)) ||
        (rc = vkr_cfg_string(cfg, "hidden_act", "quick_gelu", &act)) ||
        (rc = vkr_cfg_int(cfg, "bos_token_id", 49406, &c->bos_token_id)) ||
        (rc = vkr_cfg_int(cfg, "eos_token_id", 49407, &c->eos_token_id)) ||
        (rc = vkr_cfg_int(cfg, "pad_token_id", 1, &c->pad_token_id)))
        return rc;
    c->layer_norm_eps = (float)eps;
    if ((rc = vkr_activation_from_name(act, cfg->path, &c->hidden_act)))
        return rc;
    if (c->vocab_size < 1 || c->hidden_size < 1 || c->intermediate_size < 1 || c->num_hidden_layers < 0 ||
        c->num_attention_heads < 1 || c->max_position_embeddings < 1 || !(eps > 0))
        return vkr_fail(VKR_E_DATA, "%s: CLIP text config has a non-positive size or eps", cfg->path);
    if (c->hidden_size % c->num_attention_heads)
        return vkr_fail(VKR_E_DATA, "%s: hidden_size %d is not divisible by num_attention_heads %d", cfg->path,
                        c->hidden_size, c->num_attention_heads);
    return VKR_OK;
}

static int load_layer(vkr_gpu *gpu, const vkr_clip_text_config *c, vkr_weights *w, vkr_dtype dtype, int i,
                      vkr_clip_text_layer *l)
{
    char p[160], name[200];
    const int64_t d = c->hidden_size, inter = c->intermediate_size;
    int rc;
    snprintf(p, sizeof p, "text_model.encoder.layers.%d", i);
#define SUB(s) (snprintf(name, sizeof name, "%s.%s", p, s), name)
    if ((rc = vkr_layer_norm_load(gpu, w, dtype, SUB("layer_norm1"), d, c->layer_norm_eps, &l->layer_norm1)) ||
        (rc = vkr_attention_block_load(gpu, w, dtype, SUB("self_attn"), &vkr_attention_names_clip, d, d, d,
                                       c->num_attention_heads, &l->self_attn)) ||
        (rc = vkr_layer_norm_load(gpu, w, dtype, SUB("layer_norm2"), d, c->layer_norm_eps, &l->layer_norm2)) ||
        (rc = vkr_linear_load(gpu, w, dtype, SUB("mlp.fc1"), d, inter, true, &l->fc1)) ||
        (rc = vkr_linear_load(gpu, w, dtype, SUB("mlp.fc2"), inter, d, true, &l->fc2)))
        return rc;
#undef SUB
    return VKR_OK;
}

int vkr_clip_text_load(vkr_gpu *gpu, const vkr_clip_text_config *config, vkr_weights *w, vkr_dtype dtype,
                       vkr_clip_text *m)
{
    const vkr_clip_text_config *c = config;
    int rc;
    memset(m, 0, sizeof *m);
    m->config = *config;
    m->dtype = dtype;
    m->layers = calloc(c->num_hidden_layers ? (size_t)c->num_hidden_layers : 1, sizeof *m->layers);
    if (!m->layers)
        return vkr_fail(VKR_E_INTERNAL, "CLIP text model: out of memory");
    if ((rc = vkr_param_load(gpu, w, "text_model.embeddings.token_embedding.weight", dtype,
                             VKR_SHAPE(c->vocab_size, c->hidden_size), &m->token_embedding)) ||
        (rc = vkr_param_load(gpu, w, "text_model.embeddings.position_embedding.weight", dtype,
                             VKR_SHAPE(c->max_position_embeddings, c->hidden_size), &m->position_embedding)))
        goto fail;
    for (int i = 0; i < c->num_hidden_layers; i++)
        if ((rc = load_layer(gpu, c, w, dtype, i, &m->layers[i])))
            goto fail;
    if ((rc = vkr_layer_norm_load(gpu, w, dtype, "text_model.final_layer_norm", c->hidden_size, c->layer_norm_eps,
                                  &m->final_layer_norm)))
        goto fail;
    /* position_ids = arange(max_positions): a buffer older transformers saved; recomputed here. */
    vkr_weights_skip(w, "text_model.embeddings.position_ids");
    if ((rc = vkr_weights_check_all_used(w)))
        goto fail;
    return VKR_OK;
fail:
    vkr_clip_text_free(m);
    return rc;
}

int vkr_clip_text_load_dir(vkr_gpu *gpu, const char *dir, vkr_variant variant, vkr_dtype dtype,
                           vkr_clip_text *m)
{
    vkr_config cfg;
    vkr_weights *w;
    vkr_clip_text_config c;
    memset(m, 0, sizeof *m);
    int rc = vkr_open_component_dir(dir, variant, &cfg, &w);
    if (rc)
        return rc;
    if ((rc = vkr_clip_text_config_read(&cfg, &c)) == VKR_OK)
        rc = vkr_clip_text_load(gpu, &c, w, dtype, m);
    vkr_weights_close(w);
    vkr_cfg_free(&cfg);
    return rc;
}

void vkr_clip_text_free(vkr_clip_text *m)
{
    free(m->layers);
    m->layers = NULL;
}

int64_t vkr_clip_text_eos_position(const vkr_clip_text_config *c, const int64_t *ids, int64_t seq)
{
    int64_t best = 0;
    if (c->eos_token_id == 2) {
        /* Legacy configs: argmax, whose first maximum is the first EOS (the largest id). */
        for (int64_t t = 1; t < seq; t++)
            if (ids[t] > ids[best])
                best = t;
        return best;
    }
    for (int64_t t = 0; t < seq; t++)
        if (ids[t] == c->eos_token_id)
            return t;
    return 0; /* argmax of an all-zero comparison */
}

/* Pre-LN encoder layer: y = h + fc2(act(fc1(ln2(h)))), h = x + attn(ln1(x)). */
static int layer_forward(vkr_gpu *gpu, const vkr_clip_text *m, const vkr_clip_text_layer *l, const vkr_tensor *x,
                         const vkr_tensor *y)
{
    vkr_tensor a = {0}, h = {0}, mlp = {0};
    int64_t ne_mlp[VKR_DIMS];
    int rc;
    memcpy(ne_mlp, x->ne, sizeof ne_mlp);
    ne_mlp[VKR_DIM_W] = m->config.intermediate_size;
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, x->ne, &a)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, x->ne, &h)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, x->dtype, ne_mlp, &mlp)))
        goto fail;
    vkr_attention_block_args args = {.causal = 1, .residual = x};
    if ((rc = vkr_layer_norm_forward(gpu, &l->layer_norm1, x, &a)) ||
        (rc = vkr_attention_block_forward(gpu, &l->self_attn, &a, NULL, &args, &h)) ||
        (rc = vkr_layer_norm_forward(gpu, &l->layer_norm2, &h, &a)) ||
        (rc = vkr_linear_forward(gpu, &l->fc1, &a, m->config.hidden_act, NULL, &mlp)) ||
        (rc = vkr_linear_forward(gpu, &l->fc2, &mlp, VKR_UNARY_IDENTITY, &h, y)))
        goto fail;
fail:
    vkr_tensor_free(gpu, &a);
    vkr_tensor_free(gpu, &h);
    vkr_tensor_free(gpu, &mlp);
    return rc;
}

int vkr_clip_text_forward(vkr_gpu *gpu, const vkr_clip_text *m, const int64_t *ids, int64_t batch, int64_t seq,
                          int want_hidden_states, vkr_clip_text_output *out)
{
    const vkr_clip_text_config *c = &m->config;
    const int64_t ne[VKR_DIMS] = {1, 1, batch, seq, c->hidden_size};
    const int64_t ne_pool[VKR_DIMS] = {1, 1, 1, batch, c->hidden_size};
    vkr_tensor ids_t = {0}, x = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (batch < 1 || seq < 1 || seq > c->max_position_embeddings)
        return vkr_fail(VKR_E_DATA, "CLIP text: %lld x %lld tokens (at most %d per row)", (long long)batch,
                        (long long)seq, c->max_position_embeddings);
    if (want_hidden_states) {
        out->hidden_states = calloc((size_t)c->num_hidden_layers + 1, sizeof *out->hidden_states);
        if (!out->hidden_states)
            return vkr_fail(VKR_E_INTERNAL, "CLIP text: out of memory");
        out->n_hidden_states = c->num_hidden_layers + 1;
    }
    /* Embeddings: token_embedding[ids] + position_embedding[arange(seq)]. */
    if ((rc = vkr_embedding_ids_upload(gpu, ids, VKR_I64, batch * seq, c->vocab_size, &ids_t)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne, &x)) ||
        (rc = vkr_op_embedding(gpu, &ids_t, &m->token_embedding, &m->position_embedding, &x)))
        goto fail;
    for (int i = 0; i < c->num_hidden_layers; i++) {
        vkr_tensor y = {0};
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne, &y)) ||
            (rc = layer_forward(gpu, m, &m->layers[i], &x, &y))) {
            vkr_tensor_free(gpu, &y);
            goto fail;
        }
        if (want_hidden_states)
            out->hidden_states[i] = x; /* the layer's input: embeddings or layer i's output */
        else
            vkr_tensor_free(gpu, &x);
        x = y;
    }
    if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne, &out->last_hidden_state)) ||
        (rc = vkr_layer_norm_forward(gpu, &m->final_layer_norm, &x, &out->last_hidden_state)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, m->dtype, ne_pool, &out->pooler_output)))
        goto fail;
    /* pooler_output[b] = last_hidden_state[b, eos(b)]: positions come from the host ids. */
    for (int64_t b = 0; b < batch; b++) {
        int64_t pos = vkr_clip_text_eos_position(c, ids + b * seq, seq);
        vkr_tensor src, dst;
        if ((rc = vkr_tensor_slice(&out->last_hidden_state, VKR_DIM_F, b, 1, &src)) ||
            (rc = vkr_tensor_slice(&src, VKR_DIM_H, pos, 1, &src)) ||
            (rc = vkr_tensor_slice(&out->pooler_output, VKR_DIM_H, b, 1, &dst)) ||
            (rc = vkr_op_copy(gpu, &src, &dst)))
            goto fail;
    }
    if (want_hidden_states)
        out->hidden_states[c->num_hidden_layers] = x; /* before final_layer_norm, as transformers */
    else
        vkr_tensor_free(gpu, &x);
    vkr_tensor_free(gpu, &ids_t);
    return VKR_OK;
fail:
    vkr_tensor_free(gpu, &x); /* never stored in hidden_states at this point */
    vkr_tensor_free(gpu, &ids_t);
    vkr_clip_text_output_free(gpu, out);
    return rc;
}

void vkr_clip_text_output_free(vkr_gpu *gpu, vkr_clip_text_output *out)
{
    vkr_tensor_free(gpu, &out->last_hidden_state);
    vkr_tensor_free(gpu, &out->pooler_output);
    for (int i = 0; i < out->n_hidden_states; i++)
        vkr_tensor_free(gpu, &out->hidden_states[i]);
    free(out->hidden_states);
    memset(out, 0, sizeof *out);
}
