/* CLIP tokenizer (transformers slow CLIPTokenizer, no-ftfy path); see tokenizer_clip.h. */
#include "text/tokenizer_clip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/status.h"
#include "text/bpe.h"
#include "text/special_tokens.h"
#include "text/unicode.h"

/* CLIPTokenizer reads merges.txt lines [1, 49152-256-2+1): at most 48894 merges. */
enum { CLIP_MAX_MERGES = 49152 - 256 - 2, CLIP_DEFAULT_MAX_LENGTH = 77 };

struct vkr_clip_tokenizer {
    vkr_bpe bpe;
    vkr_tokenizer_config cfg;
    vkr_added_tokens added;
    int32_t bos_id, eos_id, unk_id, pad_id;
    int32_t sot_id, eot_id; /* vocabulary ids of the literal strings the regex keeps whole */
    int model_max_length;
};

static int is_pyspace_ascii(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* merges.txt as CLIPTokenizer reads it: content.strip().split("\n")[1:48895],
 * each line split on whitespace; lines that are not exactly two symbols keep their
 * rank but can never match. */
static int load_clip_merges(vkr_bpe *bpe, const char *path)
{
    char *text;
    size_t len;
    int rc = vkr_read_file(path, VKR_TOKENIZER_MAX_FILE, &text, &len);
    if (rc)
        return rc;
    size_t b = 0, e = len;
    while (b < e && is_pyspace_ascii(text[b]))
        b++;
    while (e > b && is_pyspace_ascii(text[e - 1]))
        e--;
    text[e] = 0;
    char *line = text + b;
    int32_t index = 0;
    while (line && index <= CLIP_MAX_MERGES) {
        char *nl = strchr(line, '\n');
        if (nl)
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
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return rc ? vkr_fail_context(rc, "%s", path) : 0;
}

static int token_id(const vkr_clip_tokenizer *tok, const char *s, int32_t *id)
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

/* The added-token set: added_tokens_decoder entries, then bos, eos, unk, sep, pad,
 * cls, mask as configured (transformers' SPECIAL_TOKENS_ATTRIBUTES order). */
static int build_added(vkr_clip_tokenizer *tok)
{
    vkr_added_tokens_free(&tok->added);
    int rc = 0;
    for (int i = 0; i < tok->cfg.decoder.n && !rc; i++) {
        const vkr_added_token *t = &tok->cfg.decoder.tok[i];
        rc = vkr_added_tokens_add(&tok->added, t->content, t->id, t->lstrip, t->rstrip);
    }
    for (int k = 0; k < VKR_SPECIAL_COUNT && !rc; k++) {
        const vkr_special_token_cfg *s = &tok->cfg.special[k];
        int32_t id;
        if (!s->set)
            continue;
        rc = token_id(tok, s->content, &id);
        if (!rc)
            rc = vkr_added_tokens_add(&tok->added, s->content, id, s->lstrip, s->rstrip);
    }
    if (!rc)
        rc = token_id(tok, tok->cfg.special[VKR_SPECIAL_BOS].content, &tok->bos_id);
    if (!rc)
        rc = token_id(tok, tok->cfg.special[VKR_SPECIAL_EOS].content, &tok->eos_id);
    if (!rc)
        rc = token_id(tok, tok->cfg.special[VKR_SPECIAL_UNK].content, &tok->unk_id);
    if (!rc)
        rc = token_id(tok, tok->cfg.special[VKR_SPECIAL_PAD].content, &tok->pad_id);
    return rc;
}

int vkr_clip_tokenizer_load(const char *dir, vkr_clip_tokenizer **out)
{
    char path[4096];
    *out = NULL;
    vkr_clip_tokenizer *tok = calloc(1, sizeof(*tok));
    if (!tok)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    tok->cfg.model_max_length = -1;
    tok->cfg.add_prefix_space = -1;
    int rc = vkr_bpe_init(&tok->bpe, "</w>");
    if (!rc)
        rc = vkr_path_join(path, sizeof(path), dir, "vocab.json");
    if (!rc)
        rc = vkr_bpe_load_vocab_json(&tok->bpe, path);
    if (!rc)
        rc = vkr_path_join(path, sizeof(path), dir, "merges.txt");
    if (!rc)
        rc = load_clip_merges(&tok->bpe, path);
    /* CLIPTokenizer.__init__ defaults, then the directory's files */
    if (!rc)
        rc = vkr_special_token_set(&tok->cfg.special[VKR_SPECIAL_BOS], "<|startoftext|>", 0, 0);
    if (!rc)
        rc = vkr_special_token_set(&tok->cfg.special[VKR_SPECIAL_EOS], "<|endoftext|>", 0, 0);
    if (!rc)
        rc = vkr_special_token_set(&tok->cfg.special[VKR_SPECIAL_UNK], "<|endoftext|>", 0, 0);
    if (!rc)
        rc = vkr_special_token_set(&tok->cfg.special[VKR_SPECIAL_PAD], "<|endoftext|>", 0, 0);
    if (!rc)
        rc = vkr_tokenizer_config_load(&tok->cfg, dir);
    if (!rc)
        rc = build_added(tok);
    if (rc)
        goto fail;
    tok->sot_id = vkr_bpe_token_id(&tok->bpe, "<|startoftext|>", 15);
    tok->eot_id = vkr_bpe_token_id(&tok->bpe, "<|endoftext|>", 13);
    if (tok->sot_id < 0) /* encoder.get(token, unk) */
        tok->sot_id = tok->unk_id;
    if (tok->eot_id < 0)
        tok->eot_id = tok->unk_id;
    /* absent or "unlimited" (int(1e30) in some configs): CLIP's 77 positions */
    tok->model_max_length = tok->cfg.model_max_length > 0 && tok->cfg.model_max_length <= (1 << 20)
                                ? (int)tok->cfg.model_max_length
                                : CLIP_DEFAULT_MAX_LENGTH;
    *out = tok;
    return 0;
fail:
    vkr_clip_tokenizer_free(tok);
    return vkr_fail_context(rc, "CLIP tokenizer %s", dir);
}

void vkr_clip_tokenizer_free(vkr_clip_tokenizer *tok)
{
    if (!tok)
        return;
    vkr_bpe_free(&tok->bpe);
    vkr_tokenizer_config_free(&tok->cfg);
    vkr_added_tokens_free(&tok->added);
    free(tok);
}

int vkr_clip_tokenizer_set_pad_token(vkr_clip_tokenizer *tok, const char *pad_token)
{
    int rc = vkr_special_token_set(&tok->cfg.special[VKR_SPECIAL_PAD], pad_token, 0, 0);
    return rc ? rc : build_added(tok);
}

int vkr_clip_model_max_length(const vkr_clip_tokenizer *tok) { return tok->model_max_length; }
int32_t vkr_clip_bos_id(const vkr_clip_tokenizer *tok) { return tok->bos_id; }
int32_t vkr_clip_eos_id(const vkr_clip_tokenizer *tok) { return tok->eos_id; }
int32_t vkr_clip_pad_id(const vkr_clip_tokenizer *tok) { return tok->pad_id; }
const char *vkr_clip_token_str(const vkr_clip_tokenizer *tok, int32_t id) { return vkr_bpe_token_str(&tok->bpe, id); }

/* BasicTokenizer._tokenize_chinese_chars' "CJK Unified Ideographs" ranges. */
static int is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* " ".join(BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize(text)). */
static int basic_clean(const uint32_t *cps, size_t n, vkr_u32buf *out)
{
    vkr_u32buf a = {0}, b = {0};
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        uint32_t c = cps[i];
        if (c == 0 || c == 0xFFFD)
            continue;
        int tnr = c == '\t' || c == '\n' || c == '\r';
        uint16_t p = vkr_uc_props(c);
        if (!tnr && (p & VKR_UCP_C))
            continue; /* _is_control */
        if (tnr || c == ' ' || (p & VKR_UCP_ZS)) {
            rc = vkr_u32buf_push(&a, ' ');
        } else if (is_cjk(c)) {
            rc = vkr_u32buf_push(&a, ' ');
            if (!rc)
                rc = vkr_u32buf_push(&a, c);
            if (!rc)
                rc = vkr_u32buf_push(&a, ' ');
        } else {
            rc = vkr_u32buf_push(&a, c);
        }
    }
    if (!rc)
        rc = vkr_uc_nfc(a.cp, a.n, &b);
    /* whitespace_tokenize (str.split()), lower() each piece, join with ' ' */
    for (size_t i = 0; i < b.n && !rc;) {
        if (vkr_uc_is_pyspace(b.cp[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < b.n && !vkr_uc_is_pyspace(b.cp[j]))
            j++;
        if (out->n)
            rc = vkr_u32buf_push(out, ' ');
        if (!rc)
            rc = vkr_uc_lower(b.cp + i, j - i, out);
        i = j;
    }
    vkr_u32buf_free(&a);
    vkr_u32buf_free(&b);
    return rc;
}

/* IGNORECASE comparison against a lower-case ASCII pattern character: the text is
 * already lower-cased, and the only non-ASCII letter that simple-case-folds to one
 * of the pattern's letters is U+017F LATIN SMALL LETTER LONG S (-> 's'). */
static int ci_eq(uint32_t c, char pat)
{
    return c == (uint32_t)pat || (pat >= 'a' && pat <= 'z' && c == (uint32_t)pat - 32) || (pat == 's' && c == 0x17F);
}

static size_t match_lit(const uint32_t *t, size_t n, size_t i, const char *lit)
{
    size_t k = 0;
    for (; lit[k]; k++)
        if (i + k >= n || !ci_eq(t[i + k], lit[k]))
            return 0;
    return k;
}

static int clip_class(uint32_t c) { return VKR_UCP_CLIP_CLASS(vkr_uc_props(c)); }

static int emit_bpe(vkr_clip_tokenizer *tok, const uint32_t *t, size_t n, vkr_i32buf *out)
{
    char stack[512];
    char *buf = n * 4 <= sizeof(stack) ? stack : malloc(n * 4);
    if (!buf)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)vkr_utf8_encode(t[i], buf + len);
    int rc = vkr_bpe_encode_word(&tok->bpe, buf, len, tok->unk_id, out);
    if (buf != stack)
        free(buf);
    return rc;
}

/* re.findall of
 *   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * (IGNORECASE), alternatives tried in order at each position; then BPE each match. */
static int clip_split_bpe(vkr_clip_tokenizer *tok, const uint32_t *t, size_t n, vkr_i32buf *out)
{
    static const char *const lits[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        size_t len = 0;
        int lit = -1;
        for (int k = 0; k < 9 && !len; k++)
            if ((len = match_lit(t, n, i, lits[k])))
                lit = k;
        if (!len) {
            int cls = clip_class(t[i]);
            if (cls == VKR_UC_CLASS_NONE) { /* whitespace: not part of any match */
                i++;
                continue;
            }
            len = 1;
            if (cls != VKR_UC_CLASS_N)
                while (i + len < n && clip_class(t[i + len]) == cls)
                    len++;
        }
        /* The reference's BPE cache maps the exact special strings to themselves
         * (no "</w>"); a case-folded variant goes through BPE like any word. */
        int32_t special = -1;
        if (lit == 0 || lit == 1) {
            int exact = 1;
            for (size_t k = 0; k < len; k++)
                exact &= t[i + k] == (uint32_t)(unsigned char)lits[lit][k];
            if (exact)
                special = lit == 0 ? tok->sot_id : tok->eot_id;
        }
        if (special >= 0)
            rc = vkr_i32buf_push(out, special);
        else
            rc = emit_bpe(tok, t + i, len, out);
        i += len;
    }
    return rc;
}

static int encode(vkr_clip_tokenizer *tok, const char *text, vkr_i32buf *ids)
{
    vkr_u32buf cps = {0}, clean = {0};
    vkr_text_piece *pieces = NULL;
    size_t np = 0;
    int rc = vkr_utf8_decode(text, strlen(text), &cps);
    if (!rc)
        rc = vkr_added_tokens_split(&tok->added, cps.cp, cps.n, &pieces, &np);
    for (size_t k = 0; k < np && !rc; k++) {
        if (pieces[k].special >= 0) {
            rc = vkr_i32buf_push(ids, tok->added.tok[pieces[k].special].id);
            continue;
        }
        clean.n = 0;
        rc = basic_clean(cps.cp + pieces[k].start, pieces[k].end - pieces[k].start, &clean);
        if (!rc)
            rc = clip_split_bpe(tok, clean.cp, clean.n, ids);
    }
    free(pieces);
    vkr_u32buf_free(&cps);
    vkr_u32buf_free(&clean);
    return rc;
}

int vkr_clip_encode(vkr_clip_tokenizer *tok, const char *text, int32_t **ids, int *n_ids)
{
    vkr_i32buf b = {0};
    return vkr_i32buf_finish(encode(tok, text, &b), &b, "CLIP tokenizer", ids, n_ids);
}

int vkr_clip_tokenize(vkr_clip_tokenizer *tok, const char *text, int32_t *ids, int max_length, int *n_real)
{
    if (max_length < 2)
        return vkr_fail(VKR_E_USAGE, "CLIP tokenizer: max_length %d leaves no room for BOS and EOS", max_length);
    vkr_i32buf b = {0};
    int rc = encode(tok, text, &b);
    if (rc) {
        vkr_i32buf_free(&b);
        return vkr_fail_context(rc, "CLIP tokenizer");
    }
    /* truncation keeps BOS + the first max_length-2 tokens + EOS */
    size_t keep = b.n < (size_t)max_length - 2 ? b.n : (size_t)max_length - 2;
    int k = 0;
    ids[k++] = tok->bos_id;
    for (size_t i = 0; i < keep; i++)
        ids[k++] = b.v[i];
    ids[k++] = tok->eos_id;
    if (n_real)
        *n_real = k;
    while (k < max_length)
        ids[k++] = tok->pad_id;
    vkr_i32buf_free(&b);
    return 0;
}
