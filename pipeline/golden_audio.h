/* Golden runners for the audio components (pipeline/golden_audio.c). */
#ifndef VKR_GOLDEN_AUDIO_H
#define VKR_GOLDEN_AUDIO_H

#include "pipeline/golden.h"

/* hifigan: SpeechT5HifiGan(config.json, weights.safetensors)(in.spectrogram
 * (B, T, model_in_dim)) -> out.waveform (B, L), f32 on the --device GPU. */
int vkr_golden_run_hifigan(const vkr_golden_case *c, vkr_golden_result *r);

/* unet2d_audioldm: UNet2DConditionModel(config.json, weights.safetensors)(
 * in.sample (N, C, H, W), in.timestep (N), in.class_labels (N, P) when present,
 * in.encoder_hidden_states (N, L, D) when present, else None) -> out.sample,
 * f32 on the --device GPU (pipeline/golden_unet2d.c). */
int vkr_golden_run_unet2d(const vkr_golden_case *c, vkr_golden_result *r);

#endif
