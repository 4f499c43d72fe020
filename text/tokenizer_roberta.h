/* RoBERTa byte-level BPE tokenizer (AudioLDM's CLAP text tokenizer): transformers
 * 4.38's slow RobertaTokenizer loaded from a tokenizer/ folder (vocab.json,
 * merges.txt, tokenizer_config.json, special_tokens_map.json):
 *
 *   optional prefix space (add_prefix_space) -> split on special tokens
 *   ("<s>", "</s>", "<unk>", "<pad>", "<mask>" which eats the spaces on its left)
 *   -> GPT-2 regex split -> byte-level BPE (no end-of-word marker) -> ids.
 *
 * No lower-casing, no normalisation. */
#ifndef VKR_TOKENIZER_ROBERTA_H
#define VKR_TOKENIZER_ROBERTA_H

#include <stdint.h>

typedef struct vkr_roberta_tokenizer vkr_roberta_tokenizer;

int vkr_roberta_tokenizer_load(const char *dir, vkr_roberta_tokenizer **out);
void vkr_roberta_tokenizer_free(vkr_roberta_tokenizer *tok);

int vkr_roberta_model_max_length(const vkr_roberta_tokenizer *tok); /* tokenizer_config.json, default 512 */
int32_t vkr_roberta_bos_id(const vkr_roberta_tokenizer *tok);
int32_t vkr_roberta_eos_id(const vkr_roberta_tokenizer *tok);
int32_t vkr_roberta_pad_id(const vkr_roberta_tokenizer *tok);
/* Token string of an id ("Ġ" is a space byte), NULL when out of range. */
const char *vkr_roberta_token_str(const vkr_roberta_tokenizer *tok, int32_t id);

/* Token ids of `text` (UTF-8) without <s>/</s>. *ids is malloc'd (NULL when *n_ids == 0). */
int vkr_roberta_encode(vkr_roberta_tokenizer *tok, const char *text, int32_t **ids, int *n_ids);

/* tokenizer(text, padding="max_length", max_length=max_length, truncation=True):
 * ids = [<s>] + bpe[:max_length-2] + [</s>] + [<pad>]*rest and the attention mask
 * (1 on real tokens, 0 on padding), both max_length long (mask may be NULL).
 * *n_real (may be NULL) receives the number of real tokens. max_length >= 2. */
int vkr_roberta_tokenize(vkr_roberta_tokenizer *tok, const char *text, int max_length, int32_t *ids,
                         int32_t *attention_mask, int *n_real);

#endif
