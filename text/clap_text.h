/* transformers ClapTextModelWithProjection (AudioLDM's text branch: the text
 * tower of laion/clap-htsat-unfused, RoBERTa-style) on the Vulkan engine.
 *
 *   pos[t]  = cumsum(ids != pad)[t] * (ids[t] != pad) + pad   (real tokens 2, 3, ..; padding 1)
 *   x       = LayerNorm(word_embeddings[ids] + token_type_embeddings[0] + position_embeddings[pos])
 *   per layer (post-LN, key-padding mask (1 - mask) * finfo(f32).min):
 *     x = LayerNorm(x + output.dense(self_attention(x)))
 *     x = LayerNorm(x + output.dense(act(intermediate.dense(x))))
 *   pooler_output = tanh(pooler.dense(x[:, 0]))
 *   text_embeds   = linear2(projection_act(linear1(pooler_output)))
 *   text_embeds_normalized = text_embeds / max(||text_embeds||_2, 1e-12)   (AudioLDMPipeline)
 *
 * Weights by transformers names ("text_model.embeddings.word_embeddings.weight",
 * "text_model.encoder.layer.N.attention.self.query.weight", "text_projection.linear1.weight",
 * ...). The position_ids / token_type_ids buffers that transformers saves are
 * accepted (and recomputed); any other unused tensor is an error. */
#ifndef VKR_CLAP_TEXT_H
#define VKR_CLAP_TEXT_H

#include "model/diffusers_dir.h"
#include "nn/attention_block.h"

typedef struct {
    int vocab_size;              /* 50265 */
    int hidden_size;
    int intermediate_size;
    int num_hidden_layers;
    int num_attention_heads;
    int max_position_embeddings; /* 514 */
    int type_vocab_size;         /* 1 */
    int projection_dim;          /* 512 */
    float layer_norm_eps;        /* 1e-12 (class default; AudioLDM's config states 1e-12 too) */
    vkr_unary_op hidden_act;     /* gelu (erf) */
    vkr_unary_op projection_hidden_act; /* relu */
    int pad_token_id;            /* 1 */
} vkr_clap_text_config;

/* Reads config.json with ClapTextConfig's defaults for absent keys (transformers 4.38). */
int vkr_clap_text_config_read(const vkr_config *cfg, vkr_clap_text_config *out);

typedef struct {
    vkr_attention_block attention;        /* attention.self.{query,key,value}, attention.output.dense */
    vkr_layer_norm attention_layer_norm;  /* attention.output.LayerNorm */
    vkr_linear intermediate, output;      /* intermediate.dense, output.dense */
    vkr_layer_norm output_layer_norm;     /* output.LayerNorm */
} vkr_clap_text_layer;

typedef struct {
    vkr_clap_text_config config;
    vkr_dtype dtype;
    vkr_tensor word_embeddings;       /* {1, 1, 1, vocab, D} */
    vkr_tensor position_embeddings;   /* {1, 1, 1, max_positions, D} */
    vkr_tensor token_type_embedding0; /* {1, 1, 1, 1, D}: row 0 of token_type_embeddings */
    vkr_layer_norm embeddings_layer_norm;
    vkr_clap_text_layer *layers;
    vkr_linear pooler;                /* text_model.pooler.dense */
    vkr_linear linear1, linear2;      /* text_projection.linear1 / linear2 */
} vkr_clap_text;

/* Loads the weights of `w` (every tensor must be used) in storage `dtype`. */
int vkr_clap_text_load(vkr_gpu *gpu, const vkr_clap_text_config *config, vkr_weights *w, vkr_dtype dtype,
                       vkr_clap_text *m);
/* A transformers model folder / diffusers text_encoder/ folder. */
int vkr_clap_text_load_dir(vkr_gpu *gpu, const char *dir, vkr_variant variant, vkr_dtype dtype,
                           vkr_clap_text *m);
void vkr_clap_text_free(vkr_clap_text *m);

/* Outputs: activation tensors in the model's dtype, owned by the caller. */
typedef struct {
    vkr_tensor last_hidden_state;      /* {1, 1, B, T, D} */
    vkr_tensor pooler_output;          /* {1, 1, B, 1, D} */
    vkr_tensor text_embeds;            /* {1, 1, B, 1, P} */
    vkr_tensor text_embeds_normalized; /* {1, 1, B, 1, P} */
    vkr_tensor *hidden_states;         /* num_hidden_layers + 1 tensors {1, 1, B, T, D}, or NULL */
    int n_hidden_states;
} vkr_clap_text_output;

/* Runs the model on ids (batch x seq int64) with attention_mask (batch x seq
 * int64 of 0/1; NULL: all ones). Position ids come from the ids (padding =
 * pad_token_id), not from the mask, exactly as transformers. */
int vkr_clap_text_forward(vkr_gpu *gpu, const vkr_clap_text *m, const int64_t *ids, const int64_t *attention_mask,
                          int64_t batch, int64_t seq, int want_hidden_states, vkr_clap_text_output *out);
void vkr_clap_text_output_free(vkr_gpu *gpu, vkr_clap_text_output *out);

/* RoBERTa position ids for one row (create_position_ids_from_input_ids). */
void vkr_clap_text_position_ids(int64_t pad_token_id, const int64_t *ids, int64_t seq, int64_t *pos);

#endif
