/* transformers CLIPTextModel (the text encoder of Stable Diffusion,
 * ModelScope text-to-video and Zeroscope) on the Vulkan engine.
 *
 *   x = token_embedding[ids] + position_embedding[0..T)            hidden_states[0]
 *   per layer (pre-LN):
 *     x = x + out_proj(causal_mha(layer_norm1(x)))
 *     x = x + fc2(act(fc1(layer_norm2(x))))     act = config hidden_act   hidden_states[i]
 *   last_hidden_state = final_layer_norm(x)
 *   pooler_output[b]  = last_hidden_state[b, eos position of row b]
 *
 * EOS position (transformers 4.38): with the legacy config eos_token_id == 2
 * (the real SD / ModelScope configs) it is argmax(ids[b]), the first position
 * of the row's largest id; otherwise the first position equal to
 * eos_token_id (0 when there is none). No attention mask: the pipelines pass
 * none, so padding only enters through the causal mask.
 *
 * Weights by transformers names ("text_model.embeddings.token_embedding.weight",
 * "text_model.encoder.layers.N.self_attn.q_proj.weight", ...); an extra
 * "text_model.embeddings.position_ids" buffer (older checkpoints) is accepted;
 * any other tensor the model does not use is an error. */
#ifndef VKR_CLIP_TEXT_H
#define VKR_CLIP_TEXT_H

#include "model/diffusers_dir.h"
#include "nn/attention_block.h"

typedef struct {
    int vocab_size;              /* 49408 */
    int hidden_size;             /* 768 (SD 1.x), 1024 (OpenCLIP ViT-H) */
    int intermediate_size;
    int num_hidden_layers;
    int num_attention_heads;
    int max_position_embeddings; /* 77 */
    float layer_norm_eps;        /* 1e-5 */
    vkr_unary_op hidden_act;     /* quick_gelu (default) or gelu */
    int bos_token_id, eos_token_id, pad_token_id;
} vkr_clip_text_config;

/* Reads config.json with CLIPTextConfig's defaults for absent keys (transformers 4.38). */
int vkr_clip_text_config_read(const vkr_config *cfg, vkr_clip_text_config *out);

typedef struct {
    vkr_layer_norm layer_norm1, layer_norm2;
    vkr_attention_block self_attn;
    vkr_linear fc1, fc2;
} vkr_clip_text_layer;

typedef struct {
    vkr_clip_text_config config;
    vkr_dtype dtype; /* storage of weights and activations */
    vkr_tensor token_embedding;    /* {1, 1, 1, vocab, D} */
    vkr_tensor position_embedding; /* {1, 1, 1, max_positions, D} */
    vkr_clip_text_layer *layers;
    vkr_layer_norm final_layer_norm;
} vkr_clip_text;

/* Loads the weights of `w` (every tensor must be used) into the weights arena
 * in storage `dtype` (F32, F16 or BF16). */
int vkr_clip_text_load(vkr_gpu *gpu, const vkr_clip_text_config *config, vkr_weights *w, vkr_dtype dtype,
                       vkr_clip_text *m);
/* A transformers model folder / diffusers text_encoder/ folder: config.json
 * plus the weights vkr_resolve_weights() finds (model.safetensors, ...). */
int vkr_clip_text_load_dir(vkr_gpu *gpu, const char *dir, vkr_variant variant, vkr_dtype dtype,
                           vkr_clip_text *m);
/* Host memory only (the device weights go with vkr_gpu_weights_reset). */
void vkr_clip_text_free(vkr_clip_text *m);

/* Outputs: activation tensors in the model's dtype, owned by the caller
 * (vkr_clip_text_output_free). */
typedef struct {
    vkr_tensor last_hidden_state; /* {1, 1, B, T, D} */
    vkr_tensor pooler_output;     /* {1, 1, 1, B, D} */
    vkr_tensor *hidden_states;    /* num_hidden_layers + 1 tensors {1, 1, B, T, D}, or NULL */
    int n_hidden_states;
} vkr_clip_text_output;

/* Runs the encoder on ids (batch x seq, row-major int64; seq <=
 * max_position_embeddings, ids < vocab_size). want_hidden_states: also keep
 * the embeddings and every layer's output (transformers output_hidden_states).
 * The work is recorded; downloading an output waits for it. */
int vkr_clip_text_forward(vkr_gpu *gpu, const vkr_clip_text *m, const int64_t *ids, int64_t batch, int64_t seq,
                          int want_hidden_states, vkr_clip_text_output *out);
void vkr_clip_text_output_free(vkr_gpu *gpu, vkr_clip_text_output *out);

/* The pooled position of one row of ids (the rule above). */
int64_t vkr_clip_text_eos_position(const vkr_clip_text_config *config, const int64_t *ids, int64_t seq);

#endif
