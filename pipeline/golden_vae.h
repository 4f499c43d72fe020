/* Golden runner for the VAEs (pipeline/golden_vae.c). */
#ifndef VKR_GOLDEN_VAE_H
#define VKR_GOLDEN_VAE_H

#include "pipeline/golden.h"

/* vae_decoder / vae_mel: AutoencoderKL(config.json, weights.safetensors) in f32:
 * decode(in.z).sample -> out.sample; encode(in.x or in.mel) -> out.latent_mean,
 * out.latent_logvar. */
int vkr_golden_run_vae(const vkr_golden_case *c, vkr_golden_result *r);

#endif
