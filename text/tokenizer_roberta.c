/* RoBERTa tokenizer (transformers slow RobertaTokenizer); see tokenizer_roberta.h. */
#include "text/tokenizer_roberta.h"

#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/status.h"
#include "text/bpe.h"
#include "text/special_tokens.h"
#include "text/unicode.h"

enum { ROBERTA_DEFAULT_MAX_LENGTH = 512 };

struct vkr_roberta_tokenizer {
    vkr_bpe bpe;
    vkr_tokenizer_config cfg;
    vkr_added_tokens added;
    int32_t bos_id, eos_id, unk_id, pad_id;
    int model_max_length;
    int add_prefix_space;
};

/* merges.txt as RobertaTokenizer reads it: content.split("\n")[1:-1] (the header
 * and whatever follows the last newline are dropped), each line split on whitespace. */
static int load_gpt2_merges(vkr_bpe *bpe, const char *path)
{
    char *text;
    size_t len;
    int rc = vkr_read_file(path, VKR_TOKENIZER_MAX_FILE, &text, &len);
    if (rc)
        return rc;
    char *line = text;
    int32_t index = 0;
    for (;;) {
        char *nl = strchr(line, '\n');
        if (!nl)
            break; /* the last element of split("\n") is never a merge */
        *nl = 0;
        if (index >= 1) {
            char *save = NULL, *a = strtok_r(line, " \t\r\v\f", &save);
            char *c = a ? strtok_r(NULL, " \t\r\v\f", &save) : NULL;
            char *extra = c ? strtok_r(NULL, " \t\r\v\f", &save) : NULL;
            if (a && c && !extra) {
                rc = vkr_bpe_add_merge(bpe, a, strlen(a), c, strlen(c), index - 1);
                if (rc)
                    break;
            }
        }
        index++;
        line = nl + 1;
    }
    free(text);
    return rc ? vkr_fail_context(rc, "%s", path) : 0;
}

static int token_id(const vkr_roberta_tokenizer *tok, const char *s, int32_t *id)
{
    *id = vkr_bpe_token_id(&tok->bpe, s, strlen(s));
    if (*id < 0)
        for (int i = 0; i < tok->cfg.decoder.n; i++)
            if (strcmp(tok->cfg.decoder.tok[i].content, s) == 0)
                *id = tok->cfg.decoder.tok[i].id;
    if (*id < 0)
        return vkr_fail(VKR_E_DATA, "special token \"%s\" is not in the vocabulary", s);
    return 0;
}

int vkr_roberta_tokenizer_load(const char *dir, vkr_roberta_tokenizer **out)
{
    char path[4096];
    *out = NULL;
    vkr_roberta_tokenizer *tok = calloc(1, sizeof(*tok));
    if (!tok)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    vkr_tokenizer_config *cfg = &tok->cfg;
    cfg->model_max_length = -1;
    cfg->add_prefix_space = -1;
    int rc = vkr_bpe_init(&tok->bpe, "");
    if (!rc)
        rc = vkr_path_join(path, sizeof(path), dir, "vocab.json");
    if (!rc)
        rc = vkr_bpe_load_vocab_json(&tok->bpe, path);
    if (!rc)
        rc = vkr_path_join(path, sizeof(path), dir, "merges.txt");
    if (!rc)
        rc = load_gpt2_merges(&tok->bpe, path);
    /* RobertaTokenizer.__init__ defaults; <mask> "behaves like a normal word,
     * i.e. includes the space before it" (lstrip) */
    static const char *const defaults[VKR_SPECIAL_COUNT] = {"<s>", "</s>", "<unk>", "</s>", "<pad>", "<s>", "<mask>"};
    for (int k = 0; k < VKR_SPECIAL_COUNT && !rc; k++)
        rc = vkr_special_token_set(&cfg->special[k], defaults[k], k == VKR_SPECIAL_MASK, 0);
    if (!rc)
        rc = vkr_tokenizer_config_load(cfg, dir);
    if (rc)
        goto fail;
    /* a plain-string mask token in the config is wrapped with lstrip=True by __init__ */
    for (int i = 0; i < cfg->decoder.n && !rc; i++) {
        const vkr_added_token *t = &cfg->decoder.tok[i];
        rc = vkr_added_tokens_add(&tok->added, t->content, t->id, t->lstrip, t->rstrip);
    }
    for (int k = 0; k < VKR_SPECIAL_COUNT && !rc; k++) {
        int32_t id;
        const vkr_special_token_cfg *s = &cfg->special[k];
        rc = token_id(tok, s->content, &id);
        if (!rc)
            rc = vkr_added_tokens_add(&tok->added, s->content, id, s->lstrip, s->rstrip);
    }
    if (!rc)
        rc = token_id(tok, cfg->special[VKR_SPECIAL_BOS].content, &tok->bos_id);
    if (!rc)
        rc = token_id(tok, cfg->special[VKR_SPECIAL_EOS].content, &tok->eos_id);
    if (!rc)
        rc = token_id(tok, cfg->special[VKR_SPECIAL_UNK].content, &tok->unk_id);
    if (!rc)
        rc = token_id(tok, cfg->special[VKR_SPECIAL_PAD].content, &tok->pad_id);
    if (rc)
        goto fail;
    tok->model_max_length = cfg->model_max_length > 0 && cfg->model_max_length <= (1 << 20)
                                ? (int)cfg->model_max_length
                                : ROBERTA_DEFAULT_MAX_LENGTH;
    tok->add_prefix_space = cfg->add_prefix_space > 0;
    *out = tok;
    return 0;
fail:
    vkr_roberta_tokenizer_free(tok);
    return vkr_fail_context(rc, "RoBERTa tokenizer %s", dir);
}

void vkr_roberta_tokenizer_free(vkr_roberta_tokenizer *tok)
{
    if (!tok)
        return;
    vkr_bpe_free(&tok->bpe);
    vkr_tokenizer_config_free(&tok->cfg);
    vkr_added_tokens_free(&tok->added);
    free(tok);
}

int vkr_roberta_model_max_length(const vkr_roberta_tokenizer *tok) { return tok->model_max_length; }
int32_t vkr_roberta_bos_id(const vkr_roberta_tokenizer *tok) { return tok->bos_id; }
int32_t vkr_roberta_eos_id(const vkr_roberta_tokenizer *tok) { return tok->eos_id; }
int32_t vkr_roberta_pad_id(const vkr_roberta_tokenizer *tok) { return tok->pad_id; }
const char *vkr_roberta_token_str(const vkr_roberta_tokenizer *tok, int32_t id)
{
    return vkr_bpe_token_str(&tok->bpe, id);
}

static int cls_of(uint32_t c) { return VKR_UCP_ROBERTA_CLASS(vkr_uc_props(c)); }
static int is_re_space(uint32_t c) { return (vkr_uc_props(c) & VKR_UCP_RESPACE) != 0; }

/* Length of the match of
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * at position i (alternatives in order; never 0 since every character is
 * a letter, a number, whitespace or "other"). */
static size_t gpt2_match(const uint32_t *t, size_t n, size_t i)
{
    static const char *const lits[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    for (int k = 0; k < 7; k++) {
        size_t m = 0;
        while (lits[k][m] && i + m < n && t[i + m] == (uint32_t)lits[k][m])
            m++;
        if (!lits[k][m])
            return m;
    }
    /* ' ?X+' for X in L, N, O: an optional single U+0020, then a run of one class */
    size_t s = i + (t[i] == ' ' && i + 1 < n);
    static const int classes[] = {VKR_UC_CLASS_L, VKR_UC_CLASS_N, VKR_UC_CLASS_O};
    for (int k = 0; k < 3; k++) {
        size_t b = cls_of(t[s]) == classes[k] ? s : cls_of(t[i]) == classes[k] ? i : n;
        if (b == n)
            continue;
        size_t e = b + 1;
        while (e < n && cls_of(t[e]) == classes[k])
            e++;
        return e - i;
    }
    /* \s+(?!\S): the longest whitespace run not followed by a non-space; when the
     * run stops before a non-space, backtracking gives it up the last character
     * (which is a space, so the lookahead holds) -- unless that leaves nothing. */
    size_t e = i;
    while (e < n && is_re_space(t[e]))
        e++;
    if (e == i)
        return 1; /* unreachable: a character outside L, N, O is whitespace */
    if (e == n || e - i == 1)
        return e - i; /* at the end, or the \s+ fallback for a single space */
    return e - i - 1;
}

static int split_bpe(vkr_roberta_tokenizer *tok, const uint32_t *t, size_t n, vkr_i32buf *out)
{
    char stack[512];
    char *heap = NULL;
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        size_t len = gpt2_match(t, n, i);
        char *buf = stack;
        if (len * 4 > sizeof(stack)) {
            free(heap);
            heap = buf = malloc(len * 4);
            if (!buf)
                return vkr_fail(VKR_E_INTERNAL, "out of memory");
        }
        size_t bytes = 0;
        for (size_t k = 0; k < len; k++)
            bytes += (size_t)vkr_utf8_encode(t[i + k], buf + bytes);
        rc = vkr_bpe_encode_word(&tok->bpe, buf, bytes, tok->unk_id, out);
        i += len;
    }
    free(heap);
    return rc;
}

static int encode(vkr_roberta_tokenizer *tok, const char *text, vkr_i32buf *ids)
{
    vkr_u32buf cps = {0};
    vkr_text_piece *pieces = NULL;
    size_t np = 0;
    int rc = 0;
    /* prepare_for_tokenization: " " + text when add_prefix_space and text does not start with a space */
    if (tok->add_prefix_space && text[0]) {
        rc = vkr_utf8_decode(text, strlen(text), &cps);
        if (!rc && !vkr_uc_is_pyspace(cps.cp[0])) {
            cps.n = 0;
            rc = vkr_u32buf_push(&cps, ' ');
            if (!rc)
                rc = vkr_utf8_decode(text, strlen(text), &cps);
        }
    } else {
        rc = vkr_utf8_decode(text, strlen(text), &cps);
    }
    if (!rc)
        rc = vkr_added_tokens_split(&tok->added, cps.cp, cps.n, &pieces, &np);
    for (size_t k = 0; k < np && !rc; k++) {
        if (pieces[k].special >= 0)
            rc = vkr_i32buf_push(ids, tok->added.tok[pieces[k].special].id);
        else
            rc = split_bpe(tok, cps.cp + pieces[k].start, pieces[k].end - pieces[k].start, ids);
    }
    free(pieces);
    vkr_u32buf_free(&cps);
    return rc;
}

int vkr_roberta_encode(vkr_roberta_tokenizer *tok, const char *text, int32_t **ids, int *n_ids)
{
    vkr_i32buf b = {0};
    return vkr_i32buf_finish(encode(tok, text, &b), &b, "RoBERTa tokenizer", ids, n_ids);
}

int vkr_roberta_tokenize(vkr_roberta_tokenizer *tok, const char *text, int max_length, int32_t *ids,
                         int32_t *attention_mask, int *n_real)
{
    if (max_length < 2)
        return vkr_fail(VKR_E_USAGE, "RoBERTa tokenizer: max_length %d leaves no room for <s> and </s>", max_length);
    vkr_i32buf b = {0};
    int rc = encode(tok, text, &b);
    if (rc) {
        vkr_i32buf_free(&b);
        return vkr_fail_context(rc, "RoBERTa tokenizer");
    }
    size_t keep = b.n < (size_t)max_length - 2 ? b.n : (size_t)max_length - 2;
    int k = 0;
    ids[k++] = tok->bos_id;
    for (size_t i = 0; i < keep; i++)
        ids[k++] = b.v[i];
    ids[k++] = tok->eos_id;
    if (n_real)
        *n_real = k;
    for (int i = 0; i < max_length; i++) {
        if (i >= k)
            ids[i] = tok->pad_id;
        if (attention_mask)
            attention_mask[i] = i < k;
    }
    vkr_i32buf_free(&b);
    return 0;
}
