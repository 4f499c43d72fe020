/* Special ("added") tokens of a Hugging Face tokenizer directory, with the
 * semantics of transformers 4.38's slow PreTrainedTokenizer:
 *
 *  - configuration: tokenizer_config.json gives the defaults, and every key of
 *    special_tokens_map.json overrides it (the legacy loader: this is how
 *    ModelScope's CLIP tokenizer ends up padding with "!"). A token is a plain
 *    string or an AddedToken object {"content", "lstrip", "rstrip", ...};
 *    "added_tokens_decoder" of re-saved configs is honoured too;
 *  - splitting: before any cleanup or BPE, the text is cut on every occurrence
 *    of an added token (leftmost, then longest); an lstrip/rstrip token eats the
 *    whitespace (str.isspace) to its left/right. Each special piece becomes its
 *    id directly, the text pieces are tokenized independently. */
#ifndef VKR_SPECIAL_TOKENS_H
#define VKR_SPECIAL_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "text/bpe.h"

typedef struct {
    char *content;   /* UTF-8 */
    uint32_t *cps;   /* content as code points */
    size_t n_cps;
    int32_t id;
    int lstrip, rstrip;
} vkr_added_token;

typedef struct {
    vkr_added_token *tok;
    int n;
} vkr_added_tokens;

/* A special-token attribute value as configured (content NULL when unset). */
typedef struct {
    char *content;
    int lstrip, rstrip, set;
} vkr_special_token_cfg;

enum { VKR_SPECIAL_BOS, VKR_SPECIAL_EOS, VKR_SPECIAL_UNK, VKR_SPECIAL_SEP, VKR_SPECIAL_PAD,
       VKR_SPECIAL_CLS, VKR_SPECIAL_MASK, VKR_SPECIAL_COUNT };

typedef struct {
    vkr_special_token_cfg special[VKR_SPECIAL_COUNT];
    long long model_max_length;  /* -1 when absent */
    int add_prefix_space;        /* -1 when absent */
    vkr_added_tokens decoder;    /* "added_tokens_decoder" entries with their ids */
} vkr_tokenizer_config;

/* Reads <dir>/tokenizer_config.json then <dir>/special_tokens_map.json (both
 * optional). Attributes already set in cfg (defaults from the caller) are
 * overridden by the files. */
int vkr_tokenizer_config_load(vkr_tokenizer_config *cfg, const char *dir);
void vkr_tokenizer_config_free(vkr_tokenizer_config *cfg);
/* Sets an attribute (copying content). */
int vkr_special_token_set(vkr_special_token_cfg *t, const char *content, int lstrip, int rstrip);

/* Adds a token unless one with the same content is already there (the first keeps its flags). */
int vkr_added_tokens_add(vkr_added_tokens *a, const char *content, int32_t id, int lstrip, int rstrip);
void vkr_added_tokens_free(vkr_added_tokens *a);

/* One piece of split text: cps[start, end) of the input; special >= 0 is an index into the added tokens. */
typedef struct {
    size_t start, end;
    int special;
} vkr_text_piece;

/* Splits cps[0..n) on the added tokens and applies lstrip/rstrip; empty pieces are dropped.
 * *pieces is malloc'd. */
int vkr_added_tokens_split(const vkr_added_tokens *a, const uint32_t *cps, size_t n, vkr_text_piece **pieces,
                           size_t *n_pieces);

/* Joins a directory and a file name into buf. */
int vkr_path_join(char *buf, size_t size, const char *dir, const char *name);

#endif
