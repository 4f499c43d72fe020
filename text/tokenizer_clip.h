/* CLIP BPE tokenizer as diffusers pipelines use it: transformers 4.38's slow
 * CLIPTokenizer loaded from a checkpoint's tokenizer/ folder (vocab.json,
 * merges.txt, tokenizer_config.json, special_tokens_map.json), on the path
 * taken when the ftfy package is NOT installed (a plain pip install):
 *
 *   split on special tokens ("<|startoftext|>", "<|endoftext|>", the pad token:
 *   with ModelScope/Zeroscope/SD 2.x's pad "!" every "!" becomes its own id 0)
 *   -> BasicTokenizer cleanup (drop NUL, U+FFFD and C* except \t\n\r; whitespace
 *      -> ' '; spaces around CJK ideographs; NFC; split on whitespace; lower())
 *   -> CLIP regex split -> byte-level BPE with "</w>" -> ids.
 *
 * The ftfy variant (ftfy.fix_text) is not implemented; it changes ids only for
 * mojibake, HTML entities, curly quotes, full-width forms and the like. */
#ifndef VKR_TOKENIZER_CLIP_H
#define VKR_TOKENIZER_CLIP_H

#include <stdint.h>

typedef struct vkr_clip_tokenizer vkr_clip_tokenizer;

/* Loads <dir>/vocab.json, merges.txt and the optional tokenizer_config.json /
 * special_tokens_map.json. */
int vkr_clip_tokenizer_load(const char *dir, vkr_clip_tokenizer **out);
void vkr_clip_tokenizer_free(vkr_clip_tokenizer *tok);

/* Replaces the pad token (e.g. "<|endoftext|>" for an SD 1.x style tokenizer);
 * this also changes which strings are split out as special tokens. */
int vkr_clip_tokenizer_set_pad_token(vkr_clip_tokenizer *tok, const char *pad_token);

int vkr_clip_model_max_length(const vkr_clip_tokenizer *tok); /* tokenizer_config.json, default 77 */
int32_t vkr_clip_bos_id(const vkr_clip_tokenizer *tok);
int32_t vkr_clip_eos_id(const vkr_clip_tokenizer *tok);
int32_t vkr_clip_pad_id(const vkr_clip_tokenizer *tok);
/* Token string of an id ("</w>" marks a word end), NULL when out of range. */
const char *vkr_clip_token_str(const vkr_clip_tokenizer *tok, int32_t id);

/* Token ids of `text` (UTF-8) without BOS/EOS: tokenizer.tokenize + convert_tokens_to_ids.
 * *ids is malloc'd (NULL when *n_ids == 0). */
int vkr_clip_encode(vkr_clip_tokenizer *tok, const char *text, int32_t **ids, int *n_ids);

/* tokenizer(text, padding="max_length", max_length=max_length, truncation=True).input_ids:
 * [BOS] + ids[:max_length-2] + [EOS] + [PAD]*rest, written to ids[0..max_length).
 * *n_real (may be NULL) receives the number of non-pad positions. max_length >= 2. */
int vkr_clip_tokenize(vkr_clip_tokenizer *tok, const char *text, int32_t *ids, int max_length, int *n_real);

#endif
