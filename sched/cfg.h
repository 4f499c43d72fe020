/* Classifier-free guidance, diffusers convention.
 *
 * The UNet runs once on a batch of 2B rows, the B unconditional (negative
 * prompt) rows FIRST and then the B conditional rows (diffusers'
 * torch.cat([negative_prompt_embeds, prompt_embeds]) and noise_pred.chunk(2)):
 *     eps = eps_u + w * (eps_c - eps_u)          (float32, w rounded to float32)
 * Guidance is on when w > 1 (diffusers' do_classifier_free_guidance); with
 * w <= 1 a pipeline runs the conditional batch alone and calls nothing here.
 *
 * Optional guidance rescale (diffusers rescale_noise_cfg, arXiv 2305.08891 §3.4),
 * per output row with std over all of the row's elements (unbiased, N-1):
 *     eps = phi * eps * std(eps_c) / std(eps) + (1 - phi) * eps
 * phi = 0 (the default of every target pipeline) leaves eps unchanged. */
#ifndef VKR_CFG_H
#define VKR_CFG_H

#include <stdbool.h>
#include <stddef.h>

static inline bool vkr_cfg_enabled(float guidance_scale) { return guidance_scale > 1.0f; }

/* model_out: 2*batch rows of row_n floats ([uncond rows; cond rows]).
 * out: batch rows of row_n floats (may alias the first half of model_out).
 * guidance_rescale in [0, 1]; 0 disables it. */
void vkr_cfg_combine(const float *model_out, size_t batch, size_t row_n, float guidance_scale,
                     float guidance_rescale, float *out);

#endif
