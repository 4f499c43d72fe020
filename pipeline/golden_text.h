/* Golden runners for the text encoders (pipeline/golden_text.c). */
#ifndef VKR_GOLDEN_TEXT_H
#define VKR_GOLDEN_TEXT_H

#include "pipeline/golden.h"

/* clip_text_gelu / clip_text_quickgelu: CLIPTextModel(config.json,
 * weights.safetensors)(in.input_ids) -> out.last_hidden_state,
 * out.pooler_output, out.hidden_states.{0..L}. */
int vkr_golden_run_clip_text(const vkr_golden_case *c, vkr_golden_result *r);
/* clap_text: ClapTextModelWithProjection(in.input_ids, in.attention_mask) ->
 * out.text_embeds, out.text_embeds_normalized, out.last_hidden_state,
 * out.pooler_output, out.hidden_states.{0..L}. */
int vkr_golden_run_clap_text(const vkr_golden_case *c, vkr_golden_result *r);

#endif
