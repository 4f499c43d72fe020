/* diffusers Timesteps + TimestepEmbedding: the sinusoidal projection of the
 * timesteps (flip_sin_to_cos, downscale_freq_shift from the model) followed by
 * linear_1 -> act -> linear_2. */
#ifndef VKR_NN_TIMESTEP_EMBEDDING_H
#define VKR_NN_TIMESTEP_EMBEDDING_H

#include "gpu/ops_misc.h"
#include "nn/param.h"

typedef struct {
    int64_t in_dim, dim;        /* sinusoid width (linear_1 in), time_embed_dim */
    vkr_timestep_params proj;   /* Timesteps(in_dim, flip_sin_to_cos, downscale_freq_shift) */
    vkr_unary_op act;           /* act_fn (UNet3D: silu) */
    vkr_linear linear_1, linear_2;
} vkr_timestep_embedding;

int vkr_timestep_embedding_load(vkr_gpu *gpu, vkr_weights *w, vkr_dtype dtype, const char *prefix, int64_t in_dim,
                                int64_t dim, const vkr_timestep_params *proj, vkr_unary_op act,
                                vkr_timestep_embedding *te);
/* t: F32 vector of N timesteps; sinusoid (may be NULL) {1, 1, 1, N, in_dim}
 * receives the projection (the time_proj output); emb {1, 1, 1, N, dim}. */
int vkr_timestep_embedding_forward(vkr_gpu *gpu, const vkr_timestep_embedding *te, const vkr_tensor *t,
                                   const vkr_tensor *sinusoid, const vkr_tensor *emb);

#endif
