/* Merge-rank byte-level BPE engine shared by the CLIP and RoBERTa tokenizers.
 *
 * Both reference tokenizers (transformers' slow CLIPTokenizer / RobertaTokenizer,
 * after OpenAI's GPT-2 encoder.py) map each UTF-8 byte of a pre-token to a
 * printable code point (bytes_to_unicode), then repeatedly merge the adjacent
 * pair with the lowest rank in merges.txt, all its non-overlapping occurrences
 * left to right, until no ranked pair is left. CLIP additionally appends "</w>"
 * to the last symbol of every word.
 *
 * Every string that can occur as a symbol (vocabulary entries, both halves and
 * the concatenation of every merge, the 256 byte symbols) is interned once, so
 * the merge loop works on small integers: a pair (a, b) maps to (rank, a+b) in
 * an open-addressing hash table, and a symbol maps to its vocabulary id. */
#ifndef VKR_BPE_H
#define VKR_BPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t *v;
    size_t n, cap;
} vkr_i32buf;

int vkr_i32buf_push(vkr_i32buf *b, int32_t v);
void vkr_i32buf_free(vkr_i32buf *b);
/* Hands b's ids to the caller as (*ids, *n_ids) after an encode that returned
 * rc: on failure (or more than INT32_MAX ids) frees b and returns the error
 * with `what` ("CLIP tokenizer") as context. */
int vkr_i32buf_finish(int rc, vkr_i32buf *b, const char *what, int32_t **ids, int *n_ids);

/* Open-addressing string -> int32 map; keys are copied into an arena. */
typedef struct {
    char *arena;
    size_t arena_len, arena_cap;
    struct vkr_strmap_slot *slots;
    size_t cap, n;
} vkr_strmap;

int vkr_strmap_put(vkr_strmap *m, const char *key, size_t len, int32_t val, int32_t *old);
/* -1 when absent (values stored are never negative). */
int32_t vkr_strmap_get(const vkr_strmap *m, const char *key, size_t len);
void vkr_strmap_free(vkr_strmap *m);

typedef struct {
    vkr_strmap syms;          /* symbol string -> symbol index */
    int32_t *sym_vocab;       /* symbol index -> vocabulary id, -1 when not in the vocabulary */
    uint32_t *sym_str;        /* symbol index -> arena offset of its NUL-terminated string */
    size_t n_syms, syms_cap;
    int32_t *vocab_sym;       /* vocabulary id -> symbol index, -1 for holes */
    int32_t n_vocab;          /* 1 + largest id */
    struct vkr_merge_slot *merges;
    size_t merges_cap, n_merges;
    int32_t byte_sym[256];    /* bytes_to_unicode symbol of each byte */
    int32_t byte_sym_eow[256];/* the same + end-of-word suffix (CLIP), or = byte_sym */
    char eow[8];              /* end-of-word suffix, "" for GPT-2 style */
    /* word -> ids cache: the same words recur across prompts and within one */
    vkr_strmap cache;
    vkr_i32buf cache_ids;     /* cache value v: cache_ids.v[v] = count, then the ids */
} vkr_bpe;

/* eow: "</w>" for CLIP, "" for GPT-2/RoBERTa. */
int vkr_bpe_init(vkr_bpe *bpe, const char *eow);
void vkr_bpe_free(vkr_bpe *bpe);

/* vocab.json: a JSON object token -> id (later duplicates win, as json.load). */
int vkr_bpe_load_vocab_json(vkr_bpe *bpe, const char *path);
/* Adds merge `a b` with `rank`; a later duplicate pair takes the later rank (dict(zip(...))). */
int vkr_bpe_add_merge(vkr_bpe *bpe, const char *a, size_t alen, const char *b, size_t blen, int32_t rank);

/* Vocabulary id of a token string, -1 when absent. */
int32_t vkr_bpe_token_id(const vkr_bpe *bpe, const char *tok, size_t len);
/* Token string of an id (byte-level alphabet), NULL when out of range. */
const char *vkr_bpe_token_str(const vkr_bpe *bpe, int32_t id);

/* BPE of one pre-token given as raw UTF-8 bytes; appends vocabulary ids to out,
 * unk_id for a final symbol missing from the vocabulary. */
int vkr_bpe_encode_word(vkr_bpe *bpe, const char *word, size_t len, int32_t unk_id, vkr_i32buf *out);

/* Largest tokenizer file accepted (vocab.json of real checkpoints is ~1 MB). */
#define VKR_TOKENIZER_MAX_FILE ((size_t)64 << 20)

#endif
