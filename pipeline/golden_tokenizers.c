/* Golden runners for tests/golden/tokenizer_clip and tokenizer_roberta: every
 * prompt of expected.json through text/'s tokenizers; the expected id lists
 * become I64 tensors (exact comparison). Variable-length lists are rows of an
 * (n_prompts, width) tensor padded with -1, width the longest list on either
 * side, so a wrong length shows as a mismatch at [prompt, position].
 *
 * tokenizer_clip ships only OpenAI's bpe_simple_vocab_16e6.txt.gz: the
 * transformers-style vocab.json + merges.txt are rebuilt from it in a temporary
 * directory exactly as expected.json "vocab_derivation" states. The ftfy fields
 * (ids_openai, ids_hf_ftfy, *_ftfy) are not compared: text/tokenizer_clip
 * implements the no-ftfy path only. */
#include "pipeline/golden.h"

#include "common/atomic_file.h"
#include "common/status.h"
#include "text/bpe.h"
#include "text/tokenizer_clip.h"
#include "text/tokenizer_roberta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* OpenAI simple_tokenizer / CLIPTokenizer read merges lines [1, 49152-256-2+1). */
enum { CLIP_N_MERGES = 49152 - 256 - 2 };

typedef struct {
    int32_t **rows;
    int *lens;
    int n;
} id_rows;

static int rows_init(id_rows *r, int n)
{
    r->n = n;
    r->rows = calloc((size_t)(n ? n : 1), sizeof *r->rows);
    r->lens = calloc((size_t)(n ? n : 1), sizeof *r->lens);
    return r->rows && r->lens ? 0 : vkr_fail(VKR_E_INTERNAL, "out of memory");
}

static void rows_free(id_rows *r)
{
    for (int i = 0; r->rows && i < r->n; i++)
        free(r->rows[i]);
    free(r->rows), free(r->lens);
    memset(r, 0, sizeof *r);
}

/* Row i = a copy of ids[0..len). */
static int rows_set(id_rows *r, int i, const int32_t *ids, int len)
{
    r->rows[i] = malloc((size_t)(len ? len : 1) * sizeof(int32_t));
    if (!r->rows[i])
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    if (len)
        memcpy(r->rows[i], ids, (size_t)len * sizeof(int32_t));
    r->lens[i] = len;
    return 0;
}

/* Row i = the JSON integer array `field` of expected.json case i. */
static int rows_set_json(id_rows *r, int i, const cJSON *item, const char *field)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(item, field);
    if (!cJSON_IsArray(arr))
        return vkr_fail(VKR_E_DATA, "expected.json cases[%d] has no list \"%s\"", i, field);
    int n = cJSON_GetArraySize(arr), k = 0;
    int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    if (!ids)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsNumber(e)) {
            free(ids);
            return vkr_fail(VKR_E_DATA, "expected.json cases[%d].%s[%d] is not a number", i, field, k);
        }
        ids[k++] = (int32_t)e->valuedouble;
    }
    r->rows[i] = ids;
    r->lens[i] = n;
    return 0;
}

static int emit_one(vkr_golden_tensors *ts, const char *name, const id_rows *r, int width)
{
    int64_t shape[2] = {r->n, width};
    size_t numel = (size_t)r->n * (size_t)width;
    int64_t *v = malloc((numel ? numel : 1) * sizeof *v);
    for (int i = 0; v && i < r->n; i++)
        for (int k = 0; k < width; k++)
            v[(size_t)i * width + k] = k < r->lens[i] ? r->rows[i][k] : -1;
    return vkr_golden_add_i64(ts, name, 2, shape, v);
}

/* got -> r->got, want -> r->want as (n, width) tensors with a common width. */
static int emit_rows(vkr_golden_result *res, const char *name, const id_rows *got, const id_rows *want)
{
    int width = 1;
    for (int i = 0; i < got->n; i++)
        width = got->lens[i] > width ? got->lens[i] : width;
    for (int i = 0; i < want->n; i++)
        width = want->lens[i] > width ? want->lens[i] : width;
    int rc = emit_one(&res->got, name, got, width);
    return rc ? rc : emit_one(&res->want, name, want, width);
}

static const cJSON *cases_of(const vkr_golden_case *c, int *n)
{
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(c->expected, "cases");
    *n = cJSON_IsArray(cases) ? cJSON_GetArraySize(cases) : 0;
    if (*n == 0)
        vkr_fail(VKR_E_DATA, "expected.json has no \"cases\"");
    return *n ? cases : NULL;
}

static const char *prompt_of(const cJSON *item)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(item, "prompt");
    return cJSON_IsString(p) ? p->valuestring : NULL;
}

/* ---- CLIP ---- */

static int gunzip_file(const char *path, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (access(path, R_OK) != 0)
        return vkr_fail(VKR_E_NOINPUT, "%s: cannot open", path);
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return vkr_fail(VKR_E_NOINPUT, "%s: cannot open", path);
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    int rc = 0;
    for (;;) {
        if (!buf) {
            rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
            break;
        }
        if (n == cap) {
            if (cap >= VKR_TOKENIZER_MAX_FILE) {
                rc = vkr_fail(VKR_E_DATA, "%s: more than %zu bytes uncompressed", path, (size_t)VKR_TOKENIZER_MAX_FILE);
                break;
            }
            cap *= 2;
            char *b = realloc(buf, cap + 1);
            if (!b) {
                rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
                break;
            }
            buf = b;
        }
        int got = gzread(gz, buf + n, (unsigned)(cap - n));
        if (got < 0) {
            int zerr;
            rc = vkr_fail(VKR_E_DATA, "%s: %s", path, gzerror(gz, &zerr));
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    gzclose(gz);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* GPT-2 bytes_to_unicode(), in its dict order: the printable bytes map to
 * themselves, the other bytes to 256, 257, ... in byte order. */
static void bytes_to_unicode(uint32_t cp[256], int order[256])
{
    int k = 0, extra = 0;
    for (int b = 0; b < 256; b++)
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
            order[k++] = b, cp[b] = (uint32_t)b;
    for (int b = 0; b < 256; b++)
        if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)))
            order[k++] = b, cp[b] = 256 + (uint32_t)extra++;
}

static int utf8_put(char *s, uint32_t c)
{
    if (c < 0x80)
        return s[0] = (char)c, 1;
    s[0] = (char)(0xC0 | (c >> 6));
    s[1] = (char)(0x80 | (c & 0x3F));
    return 2; /* every bytes_to_unicode code point is < 0x800 */
}

/* vocab.json of expected.json "vocab_derivation": 256 byte symbols, the same
 * with "</w>", one entry per merge (its two halves joined), then the two
 * special tokens; id = index. */
static int write_clip_vocab(const char *path, char *merges_text)
{
    uint32_t cp[256];
    int order[256];
    bytes_to_unicode(cp, order);
    cJSON *v = cJSON_CreateObject();
    int id = 0, rc = 0;
    char sym[16];
    for (int pass = 0; v && pass < 2; pass++)
        for (int i = 0; i < 256; i++) {
            int l = utf8_put(sym, cp[order[i]]);
            snprintf(sym + l, sizeof sym - (size_t)l, "%s", pass ? "</w>" : "");
            cJSON_AddNumberToObject(v, sym, id++);
        }
    /* lines[1 : 1 + CLIP_N_MERGES] of the text split on '\n', each split on whitespace */
    char *line = merges_text, *save = NULL;
    for (int index = 0; v && line && index <= CLIP_N_MERGES; index++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (index >= 1) {
            char *a = strtok_r(line, " \t\r\v\f", &save);
            char *b = a ? strtok_r(NULL, " \t\r\v\f", &save) : NULL;
            size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;
            char *joined = malloc(la + lb + 1);
            if (!joined) {
                rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
                break;
            }
            snprintf(joined, la + lb + 1, "%s%s", a ? a : "", b ? b : "");
            cJSON_AddNumberToObject(v, joined, id++);
            free(joined);
        }
        if (nl)
            *nl = '\n';
        line = nl ? nl + 1 : NULL;
    }
    if (v) {
        cJSON_AddNumberToObject(v, "<|startoftext|>", id++);
        cJSON_AddNumberToObject(v, "<|endoftext|>", id++);
    }
    char *text = v && !rc ? cJSON_PrintUnformatted(v) : NULL;
    if (!rc)
        rc = text ? vkr_write_file_atomic(path, text, strlen(text)) : vkr_fail(VKR_E_INTERNAL, "out of memory");
    free(text);
    cJSON_Delete(v);
    return rc;
}

/* A transformers-style tokenizer directory built from the OpenAI BPE file. */
static int load_clip_from_bpe(const char *gz_path, vkr_clip_tokenizer **tok)
{
    char tmp[4096], vocab[4200], merges[4200];
    char *text = NULL;
    size_t len;
    const char *tmpdir = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/vkreel-golden-clip-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    int rc = gunzip_file(gz_path, &text, &len);
    if (rc)
        return rc;
    if (!mkdtemp(tmp)) {
        free(text);
        return vkr_fail(VKR_E_CANTCREATE, "cannot create a temporary directory %s", tmp);
    }
    snprintf(vocab, sizeof vocab, "%s/vocab.json", tmp);
    snprintf(merges, sizeof merges, "%s/merges.txt", tmp);
    rc = vkr_write_file_atomic(merges, text, len);
    if (!rc)
        rc = write_clip_vocab(vocab, text);
    if (!rc)
        rc = vkr_clip_tokenizer_load(tmp, tok);
    unlink(vocab);
    unlink(merges);
    rmdir(tmp);
    free(text);
    return rc;
}

/* The pad token of the SD 2.x / ModelScope convention: the special_ids entry
 * that is neither BOS nor EOS ("!"). */
static const char *clip_bang_pad(const vkr_golden_case *c)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c->expected, "special_ids"))
    if (strcmp(e->string, "<|startoftext|>") != 0 && strcmp(e->string, "<|endoftext|>") != 0)
        return e->string;
    return "!";
}

enum { CLIP_NOFTFY, CLIP_PAD_EOS, CLIP_NOFTFY_BANG, CLIP_PAD_ZERO, CLIP_N_OUT };
static const char *const clip_fields[CLIP_N_OUT] = {"ids_hf_noftfy", "input_ids_pad_eos", "ids_hf_noftfy_bangpad",
                                                     "input_ids_pad_zero"};

int vkr_golden_run_tokenizer_clip(const vkr_golden_case *c, vkr_golden_result *r)
{
    vkr_clip_tokenizer *tok = NULL;
    id_rows got[CLIP_N_OUT] = {0}, want[CLIP_N_OUT] = {0};
    char path[4200];
    int n, rc;
    const cJSON *cases = cases_of(c, &n);
    if (!cases)
        return VKR_E_DATA;
    const cJSON *vf = cJSON_GetObjectItemCaseSensitive(c->expected, "vocab_file");
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(c->expected, "context_length");
    if (!cJSON_IsString(vf) || strchr(vf->valuestring, '/') || !cJSON_IsNumber(cl) || cl->valueint < 2 ||
        cl->valueint > 4096)
        return vkr_fail(VKR_E_DATA, "expected.json: no vocab_file (a file name) or context_length");
    const int ctx = cl->valueint;
    snprintf(path, sizeof path, "%s/%s", c->dir, vf->valuestring);
    if ((rc = load_clip_from_bpe(path, &tok)))
        return rc;
    int32_t *ids = malloc((size_t)ctx * sizeof *ids);
    if (!ids) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto out;
    }
    /* a field the case does not record at all is not compared; one recorded for
     * some prompts only is a malformed case (rows_set_json fails) */
    int present[CLIP_N_OUT], n_present = 0;
    for (int f = 0; f < CLIP_N_OUT; f++) {
        present[f] = cJSON_GetObjectItemCaseSensitive(cases->child, clip_fields[f]) != NULL;
        n_present += present[f];
        if ((rc = rows_init(&got[f], n)) || (rc = rows_init(&want[f], n)))
            goto out;
    }
    if (!n_present) {
        rc = vkr_fail(VKR_E_DATA, "expected.json cases record none of ids_hf_noftfy, input_ids_pad_eos, "
                                  "ids_hf_noftfy_bangpad, input_ids_pad_zero");
        goto out;
    }
    /* the default pad "<|endoftext|>" (SD 1.x), then the "!" pad (SD 2.x, ModelScope, Zeroscope) */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && (rc = vkr_clip_tokenizer_set_pad_token(tok, clip_bang_pad(c))))
            goto out;
        const int f_enc = pass ? CLIP_NOFTFY_BANG : CLIP_NOFTFY, f_pad = pass ? CLIP_PAD_ZERO : CLIP_PAD_EOS;
        int i = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, cases)
        {
            const char *prompt = prompt_of(item);
            int32_t *enc = NULL;
            int n_enc = 0;
            if (!prompt) {
                rc = vkr_fail(VKR_E_DATA, "expected.json cases[%d] has no prompt", i);
                goto out;
            }
            if ((rc = vkr_clip_encode(tok, prompt, &enc, &n_enc)))
                goto out;
            rc = rows_set(&got[f_enc], i, enc, n_enc);
            free(enc);
            if (!rc)
                rc = vkr_clip_tokenize(tok, prompt, ids, ctx, NULL);
            if (!rc)
                rc = rows_set(&got[f_pad], i, ids, ctx);
            if (!rc && present[f_enc])
                rc = rows_set_json(&want[f_enc], i, item, clip_fields[f_enc]);
            if (!rc && present[f_pad])
                rc = rows_set_json(&want[f_pad], i, item, clip_fields[f_pad]);
            if (rc)
                goto out;
            i++;
        }
    }
    for (int f = 0; f < CLIP_N_OUT && !rc; f++) {
        if (!present[f])
            continue;
        char name[VKR_GOLDEN_NAME_MAX];
        snprintf(name, sizeof name, "out.%s", clip_fields[f]);
        rc = emit_rows(r, name, &got[f], &want[f]);
    }
    snprintf(r->note, sizeof r->note, "%d prompts; ftfy variants not compared (no-ftfy path only)", n);
out:
    for (int f = 0; f < CLIP_N_OUT; f++)
        rows_free(&got[f]), rows_free(&want[f]);
    free(ids);
    vkr_clip_tokenizer_free(tok);
    return rc;
}

/* ---- RoBERTa ---- */

int vkr_golden_run_tokenizer_roberta(const vkr_golden_case *c, vkr_golden_result *r)
{
    vkr_roberta_tokenizer *tok = NULL;
    id_rows got = {0}, want = {0};
    int64_t *len_got = NULL, *len_want = NULL, *pad_got = NULL, *pad_want = NULL, *mask_got = NULL,
            *mask_want = NULL;
    int32_t *ids = NULL, *mask = NULL;
    int n, rc;
    const cJSON *cases = cases_of(c, &n);
    if (!cases)
        return VKR_E_DATA;
    const cJSON *pad_j = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c->expected, "special_ids"),
                                                          "<pad>");
    if (!cJSON_IsNumber(pad_j))
        return vkr_fail(VKR_E_DATA, "expected.json: no special_ids.<pad>");
    if ((rc = vkr_roberta_tokenizer_load(c->dir, &tok)))
        return rc;
    const int max_len = vkr_roberta_model_max_length(tok);
    const size_t nm = (size_t)n * (size_t)max_len;
    ids = malloc((size_t)max_len * sizeof *ids);
    mask = malloc((size_t)max_len * sizeof *mask);
    len_got = malloc((size_t)n * sizeof *len_got);
    len_want = malloc((size_t)n * sizeof *len_want);
    pad_got = malloc(nm * sizeof *pad_got);
    pad_want = malloc(nm * sizeof *pad_want);
    mask_got = malloc(nm * sizeof *mask_got);
    mask_want = malloc(nm * sizeof *mask_want);
    if (!ids || !mask || !len_got || !len_want || !pad_got || !pad_want || !mask_got || !mask_want) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto out;
    }
    if ((rc = rows_init(&got, n)) || (rc = rows_init(&want, n)))
        goto out;
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cases)
    {
        const char *prompt = prompt_of(item);
        const cJSON *nt = cJSON_GetObjectItemCaseSensitive(item, "n_tokens_untruncated");
        int n_real = 0, n_raw = 0;
        int32_t *raw = NULL;
        if (!prompt || !cJSON_IsNumber(nt)) {
            rc = vkr_fail(VKR_E_DATA, "expected.json cases[%d]: no prompt or n_tokens_untruncated", i);
            goto out;
        }
        /* tokenizer(prompt, padding="max_length", max_length=512, truncation=True) */
        if ((rc = vkr_roberta_tokenize(tok, prompt, max_len, ids, mask, &n_real)) ||
            (rc = rows_set(&got, i, ids, n_real)) || (rc = rows_set_json(&want, i, item, "input_ids")))
            goto out;
        for (int k = 0; k < max_len; k++) {
            size_t at = (size_t)i * max_len + k;
            pad_got[at] = ids[k];
            mask_got[at] = mask[k];
            /* expected.json "padding": input_ids + [<pad>]*(512-n), mask [1]*n + [0]*(512-n) */
            pad_want[at] = k < want.lens[i] ? want.rows[i][k] : (int64_t)pad_j->valuedouble;
            mask_want[at] = k < want.lens[i];
        }
        if ((rc = vkr_roberta_encode(tok, prompt, &raw, &n_raw)))
            goto out;
        free(raw);
        len_got[i] = n_raw + 2; /* <s> ... </s> */
        len_want[i] = (int64_t)nt->valuedouble;
        i++;
    }
    int64_t shape[2] = {n, max_len}, shape1 = n;
    rc = emit_rows(r, "out.input_ids", &got, &want);
    if (!rc)
        rc = vkr_golden_add_i64(&r->got, "out.n_tokens_untruncated", 1, &shape1, len_got);
    len_got = NULL;
    if (!rc)
        rc = vkr_golden_add_i64(&r->want, "out.n_tokens_untruncated", 1, &shape1, len_want);
    len_want = NULL;
    if (!rc)
        rc = vkr_golden_add_i64(&r->got, "out.input_ids_padded", 2, shape, pad_got);
    pad_got = NULL;
    if (!rc)
        rc = vkr_golden_add_i64(&r->want, "out.input_ids_padded", 2, shape, pad_want);
    pad_want = NULL;
    if (!rc)
        rc = vkr_golden_add_i64(&r->got, "out.attention_mask", 2, shape, mask_got);
    mask_got = NULL;
    if (!rc)
        rc = vkr_golden_add_i64(&r->want, "out.attention_mask", 2, shape, mask_want);
    mask_want = NULL;
    snprintf(r->note, sizeof r->note, "%d prompts, max_length %d", n, max_len);
out:
    rows_free(&got), rows_free(&want);
    free(len_got), free(len_want), free(pad_got), free(pad_want), free(mask_got), free(mask_want);
    free(ids), free(mask);
    vkr_roberta_tokenizer_free(tok);
    return rc;
}
