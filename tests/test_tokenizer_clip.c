/* CLIP tokenizer vs transformers 4.38.2's slow CLIPTokenizer (no ftfy): every prompt
 * of tests/golden/tokenizer_clip/expected.json with both pad conventions, the
 * pipeline_t2v ids, and edge cases. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/status.h"
#include "tests/check.h"
#include "tests/tokenizer_golden.h"
#include "text/tokenizer_clip.h"

#define T2V_DIR "tests/golden/pipeline_t2v"

static void check_list(vkr_clip_tokenizer *tok, const char *label, int idx, const char *prompt,
                       const cJSON *expected, int padded)
{
    int32_t *exp = NULL, *got = NULL;
    int n_exp = golden_ids(expected, &exp), n_got = 0, rc;
    CHECK(n_exp >= 0, "%s: prompt %d has no expected list", label, idx);
    if (n_exp < 0)
        return;
    if (padded) {
        n_got = 77;
        got = malloc(77 * sizeof(int32_t));
        rc = vkr_clip_tokenize(tok, prompt, got, 77, NULL);
    } else {
        rc = vkr_clip_encode(tok, prompt, &got, &n_got);
    }
    CHECK(rc == 0, "%s: prompt %d: %s", label, idx, vkr_last_error());
    if (rc == 0)
        CHECK(golden_cmp(label, idx, prompt, exp, n_exp, got, n_got), "%s: prompt %d mismatch", label, idx);
    free(exp);
    free(got);
}

static void check_tokens(vkr_clip_tokenizer *tok, int idx, const char *prompt, const cJSON *tokens)
{
    int32_t *got = NULL;
    int n = 0;
    if (vkr_clip_encode(tok, prompt, &got, &n) != 0)
        return;
    int ok = cJSON_GetArraySize(tokens) == n;
    int i = 0;
    for (const cJSON *e = tokens ? tokens->child : NULL; ok && e; e = e->next, i++) {
        const char *s = vkr_clip_token_str(tok, got[i]);
        ok = s && cJSON_IsString(e) && strcmp(s, e->valuestring) == 0;
        if (!ok)
            fprintf(stderr, "tokens_hf_noftfy: prompt %d index %d expected \"%s\" got \"%s\"\n", idx, i,
                    cJSON_IsString(e) ? e->valuestring : "?", s ? s : "(null)");
    }
    CHECK(ok, "tokens_hf_noftfy: prompt %d (%d tokens)", idx, n);
    free(got);
}

static void golden_prompts(vkr_clip_tokenizer *tok)
{
    cJSON *root = golden_json("tests/golden/tokenizer_clip/expected.json");
    CHECK(root != NULL, "expected.json");
    if (!root)
        return;
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    CHECK_EQ_INT(cJSON_GetArraySize(cases), 43);

    /* ModelScope / Zeroscope / SD 2.x tokenizer as shipped: pad "!" (id 0), split out of the text */
    CHECK_EQ_INT(vkr_clip_pad_id(tok), 0);
    int idx = 0, n_ftfy_same = 0;
    for (const cJSON *c = cases->child; c; c = c->next, idx++) {
        const char *prompt = cJSON_GetObjectItemCaseSensitive(c, "prompt")->valuestring;
        check_list(tok, "ids_hf_noftfy_bangpad", idx, prompt, cJSON_GetObjectItemCaseSensitive(c, "ids_hf_noftfy_bangpad"), 0);
        check_list(tok, "input_ids_pad_zero", idx, prompt, cJSON_GetObjectItemCaseSensitive(c, "input_ids_pad_zero"), 1);
    }
    /* SD 1.x convention: pad "<|endoftext|>" (49407); "!" is an ordinary character */
    CHECK_EQ_INT(vkr_clip_tokenizer_set_pad_token(tok, "<|endoftext|>"), 0);
    CHECK_EQ_INT(vkr_clip_pad_id(tok), 49407);
    idx = 0;
    for (const cJSON *c = cases->child; c; c = c->next, idx++) {
        const char *prompt = cJSON_GetObjectItemCaseSensitive(c, "prompt")->valuestring;
        check_list(tok, "ids_hf_noftfy", idx, prompt, cJSON_GetObjectItemCaseSensitive(c, "ids_hf_noftfy"), 0);
        check_list(tok, "input_ids_pad_eos", idx, prompt, cJSON_GetObjectItemCaseSensitive(c, "input_ids_pad_eos"), 1);
        check_tokens(tok, idx, prompt, cJSON_GetObjectItemCaseSensitive(c, "tokens_hf_noftfy"));
        /* where ftfy changes nothing, the ftfy-path lists must agree too */
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "same_hf_ftfy_vs_hf_noftfy"))) {
            n_ftfy_same++;
            check_list(tok, "ids_hf_ftfy", idx, prompt, cJSON_GetObjectItemCaseSensitive(c, "ids_hf_ftfy"), 0);
            check_list(tok, "input_ids_pad_eos_ftfy", idx, prompt, cJSON_GetObjectItemCaseSensitive(c, "input_ids_pad_eos_ftfy"), 1);
        }
    }
    CHECK_EQ_INT(n_ftfy_same, 33);
    CHECK_EQ_INT(vkr_clip_tokenizer_set_pad_token(tok, "!"), 0);
    cJSON_Delete(root);
}

/* pipeline_t2v/io.safetensors out.input_ids: row 0 negative prompt, row 1 prompt. */
static void pipeline_ids(vkr_clip_tokenizer *tok)
{
    cJSON *cs = golden_json(T2V_DIR "/case.json");
    int64_t *ref = NULL;
    long n = golden_st_i64(T2V_DIR "/io.safetensors", "out.input_ids", &ref);
    CHECK(cs && n == 2 * 77, "pipeline_t2v out.input_ids: %ld elements", n);
    if (cs && n == 2 * 77) {
        const cJSON *par = cJSON_GetObjectItemCaseSensitive(cs, "parameters");
        const char *texts[2] = {cJSON_GetObjectItemCaseSensitive(par, "negative_prompt")->valuestring,
                                cJSON_GetObjectItemCaseSensitive(par, "prompt")->valuestring};
        for (int r = 0; r < 2; r++) {
            int32_t got[77], exp[77];
            for (int i = 0; i < 77; i++)
                exp[i] = (int32_t)ref[r * 77 + i];
            CHECK_EQ_INT(vkr_clip_tokenize(tok, texts[r], got, vkr_clip_model_max_length(tok), NULL), 0);
            CHECK(golden_cmp("pipeline_t2v out.input_ids", r, texts[r], exp, 77, got, 77), "row %d", r);
        }
    }
    free(ref);
    cJSON_Delete(cs);
}

static int encode_n(vkr_clip_tokenizer *tok, const char *text, int32_t *out, int cap)
{
    int32_t *ids;
    int n;
    if (vkr_clip_encode(tok, text, &ids, &n) != 0)
        return -1;
    for (int i = 0; i < n && i < cap; i++)
        out[i] = ids[i];
    free(ids);
    return n;
}

static void edge_cases(vkr_clip_tokenizer *tok)
{
    int32_t ids[600], a[64], b[64];
    int n_real;
    /* empty and whitespace-only prompts: BOS, EOS, padding */
    const char *blank[] = {"", "   ", "\t\n\r \xC2\xA0\xE3\x80\x80", "\xE2\x80\x8B\x01\x7F"};
    for (int k = 0; k < 4; k++) {
        CHECK_EQ_INT(vkr_clip_tokenize(tok, blank[k], ids, 77, &n_real), 0);
        CHECK(n_real == 2 && ids[0] == 49406 && ids[1] == 49407 && ids[2] == 0 && ids[76] == 0,
              "blank prompt %d: n_real %d ids %d %d %d", k, n_real, ids[0], ids[1], ids[2]);
    }
    /* truncation keeps EOS last, at any max_length */
    char longtxt[4000] = "";
    for (int i = 0; i < 300; i++)
        strcat(longtxt, "cat ");
    CHECK_EQ_INT(vkr_clip_tokenize(tok, longtxt, ids, 77, &n_real), 0);
    CHECK(n_real == 77 && ids[0] == 49406 && ids[1] == 2368 && ids[75] == 2368 && ids[76] == 49407,
          "truncated: n_real %d last %d", n_real, ids[76]);
    CHECK_EQ_INT(vkr_clip_tokenize(tok, longtxt, ids, 5, &n_real), 0);
    CHECK(n_real == 5 && ids[4] == 49407 && ids[3] == 2368, "max_length 5: %d %d", ids[3], ids[4]);
    CHECK_EQ_INT(vkr_clip_tokenize(tok, "cat", ids, 1, NULL), VKR_E_USAGE);
    /* case, whitespace and NFC/NFD do not matter; accents are kept */
    CHECK(encode_n(tok, "  A  Cat\t", a, 64) == 2 && encode_n(tok, "a cat", b, 64) == 2 && a[0] == b[0] && a[1] == b[1],
          "case/whitespace folding");
    CHECK(encode_n(tok, "cafe\xCC\x81", a, 64) == encode_n(tok, "caf\xC3\xA9", b, 64) && a[0] == b[0],
          "NFD == NFC");
    CHECK(encode_n(tok, "cafe", a, 64) == 1 && encode_n(tok, "caf\xC3\xA9", b, 64) >= 1 && a[0] != b[0], "accent kept");
    /* apostrophes: "'s" splits off, "'x" does not exist as a contraction */
    int n1 = encode_n(tok, "dog's", a, 64);
    CHECK(n1 == 2 && strcmp(vkr_clip_token_str(tok, a[1]), "'s</w>") == 0, "dog's -> dog 's (%d: %d)", n1, a[1]);
    n1 = encode_n(tok, "DOG'S", b, 64);
    CHECK(n1 == 2 && a[0] == b[0] && a[1] == b[1], "DOG'S == dog's");
    n1 = encode_n(tok, "dog'x", a, 64);
    CHECK(n1 == 3, "dog'x -> dog ' x (%d)", n1);
    /* a special-token string in any case is its id (the text is lower-cased before the regex) */
    CHECK(encode_n(tok, "<|ENDOFTEXT|>", a, 64) == 1 && a[0] == 49407, "upper-case <|endoftext|>: %d", a[0]);
    CHECK(encode_n(tok, "x<|startoftext|>y", a, 64) == 3 && a[1] == 49406, "embedded <|startoftext|>");
    /* "!" is the pad token: split out, id 0 */
    CHECK(encode_n(tok, "wow!", a, 64) == 2 && a[1] == 0, "wow! -> wow, 0");
    /* CJK ideographs are isolated; Hangul is not */
    CHECK(encode_n(tok, "\xE7\x8C\xAB\xE7\x8C\xAB", a, 64) == encode_n(tok, "\xE7\x8C\xAB \xE7\x8C\xAB", b, 64), "CJK spacing");
    /* HTML entities are plain text without ftfy: "&amp;" is '&' 'amp' ';' */
    CHECK(encode_n(tok, "&amp;", a, 64) == 3, "&amp; -> 3 tokens");
    /* emoji ZWJ: the zero-width joiner (Cf) is removed */
    CHECK(encode_n(tok, "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9", a, 64) ==
              encode_n(tok, "\xF0\x9F\x91\xA8\xF0\x9F\x91\xA9", b, 64), "ZWJ dropped");
    /* invalid UTF-8 is a data error, not a crash */
    int32_t *ids_p = NULL;
    int n = 0;
    CHECK_EQ_INT(vkr_clip_encode(tok, "bad \xC3\x28 byte", &ids_p, &n), VKR_E_DATA);
    CHECK_EQ_INT(vkr_clip_encode(tok, "\xED\xA0\x80", &ids_p, &n), VKR_E_DATA);
    CHECK_EQ_INT(vkr_clip_encode(tok, "\xC0\xAF", &ids_p, &n), VKR_E_DATA);
    CHECK_EQ_INT(vkr_clip_encode(tok, "\xE2\x82", &ids_p, &n), VKR_E_DATA);
    CHECK(ids_p == NULL && n == 0, "no output on error");
}

/* Random strings vs the Python model of the reference (tools/gen_tokenizer_vectors.py). */
static void random_vectors(vkr_clip_tokenizer *tok)
{
    cJSON *root = golden_json("tests/data/tokenizer_vectors.json");
    CHECK(root != NULL, "tests/data/tokenizer_vectors.json");
    if (!root)
        return;
    const char *fields[2] = {"clip_bangpad", "clip_eospad"};
    const char *pads[2] = {"!", "<|endoftext|>"};
    int n = 0;
    for (int f = 0; f < 2; f++) {
        CHECK_EQ_INT(vkr_clip_tokenizer_set_pad_token(tok, pads[f]), 0);
        int idx = 0;
        for (const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "cases")->child; c; c = c->next, idx++, n++)
            check_list(tok, fields[f], idx, cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring,
                       cJSON_GetObjectItemCaseSensitive(c, fields[f]), 0);
    }
    CHECK(n >= 400, "only %d random vectors", n);
    CHECK_EQ_INT(vkr_clip_tokenizer_set_pad_token(tok, "!"), 0);
    cJSON_Delete(root);
}

/* Checkpoints re-saved by newer transformers: plain-string special tokens, an
 * added_tokens_decoder table, no special_tokens_map.json; and an "unlimited"
 * model_max_length. */
static void resaved_configs(void)
{
    static const char *const resaved =
        "{\"added_tokens_decoder\": {"
        "\"0\": {\"content\": \"!\", \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false, \"special\": true},"
        "\"49406\": {\"content\": \"<|startoftext|>\", \"lstrip\": false, \"normalized\": true, \"rstrip\": false, \"single_word\": false, \"special\": true},"
        "\"49407\": {\"content\": \"<|endoftext|>\", \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false, \"special\": true}},"
        "\"bos_token\": \"<|startoftext|>\", \"clean_up_tokenization_spaces\": true, \"do_lower_case\": true,"
        "\"eos_token\": \"<|endoftext|>\", \"errors\": \"replace\", \"model_max_length\": 77, \"pad_token\": \"!\","
        "\"tokenizer_class\": \"CLIPTokenizer\", \"unk_token\": \"<|endoftext|>\"}";
    char dir[64];
    vkr_clip_tokenizer *tok = NULL;
    int32_t ids[77];
    int n_real;
    CHECK(make_tokenizer_dir(dir, T2V_DIR "/tokenizer", resaved, NULL) == 0, "temp dir");
    CHECK_EQ_INT(vkr_clip_tokenizer_load(dir, &tok), 0);
    if (tok) {
        CHECK_EQ_INT(vkr_clip_pad_id(tok), 0);
        CHECK_EQ_INT(vkr_clip_tokenize(tok, "now!!!", ids, 77, &n_real), 0);
        CHECK(n_real == 6 && ids[2] == 0 && ids[4] == 0 && ids[5] == 49407 && ids[6] == 0, "re-saved config: now!!!");
        vkr_clip_tokenizer_free(tok);
    }
    remove_tokenizer_dir(dir);
    /* int(1e30) = "no limit" in some configs: CLIP's 77; an SD 1.x map padding with EOS */
    CHECK(make_tokenizer_dir(dir, T2V_DIR "/tokenizer", "{\"model_max_length\": 1000000000000000019884624838656}",
                             "{\"pad_token\": {\"content\": \"<|endoftext|>\", \"lstrip\": false, \"rstrip\": false}}") == 0,
          "temp dir");
    tok = NULL;
    CHECK_EQ_INT(vkr_clip_tokenizer_load(dir, &tok), 0);
    if (tok) {
        CHECK_EQ_INT(vkr_clip_model_max_length(tok), 77);
        CHECK_EQ_INT(vkr_clip_pad_id(tok), 49407);
        vkr_clip_tokenizer_free(tok);
    }
    remove_tokenizer_dir(dir);
    /* a pad token outside the vocabulary is a data error */
    CHECK(make_tokenizer_dir(dir, T2V_DIR "/tokenizer", "{\"pad_token\": \"<pad>\"}", NULL) == 0, "temp dir");
    tok = NULL;
    CHECK_EQ_INT(vkr_clip_tokenizer_load(dir, &tok), VKR_E_DATA);
    CHECK(tok == NULL, "no tokenizer on failure");
    remove_tokenizer_dir(dir);
}

static double elapsed_us(const struct timespec *t0, const struct timespec *t1)
{
    return (double)(t1->tv_sec - t0->tv_sec) * 1e6 + (double)(t1->tv_nsec - t0->tv_nsec) / 1e3;
}

/* Informative timings: the first call (empty BPE cache) and repeated calls. */
static void speed(vkr_clip_tokenizer *tok)
{
    const char *p = "A breathtaking panoramic landscape of a misty mountain valley at sunrise, with golden "
                    "light spilling over jagged peaks, 8k, trending on artstation";
    int32_t ids[77];
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    vkr_clip_tokenize(tok, p, ids, 77, NULL);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    double cold = elapsed_us(&t0, &t1);
    int reps = 200;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    for (int i = 0; i < reps; i++)
        vkr_clip_tokenize(tok, p, ids, 77, NULL);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    printf("clip tokenize, 25-word prompt: %.1f us first call, %.1f us cached (CPU time)\n", cold, elapsed_us(&t0, &t1) / reps);

    /* one 20000-letter word: the BPE merge loop's worst case in practice */
    enum { LONG_WORD = 20000 };
    char *word = malloc(LONG_WORD + 1);
    uint32_t x = 12345;
    for (int i = 0; i < LONG_WORD; i++) {
        x = x * 1103515245u + 12345u;
        word[i] = (char)('a' + (x >> 16) % 26);
    }
    word[LONG_WORD] = 0;
    int32_t *long_ids = NULL;
    int n_long = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    int rc = vkr_clip_encode(tok, word, &long_ids, &n_long);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    CHECK(rc == 0 && n_long > LONG_WORD / 8 && n_long < LONG_WORD, "long word: rc %d, %d tokens", rc, n_long);
    printf("clip encode, one %d-letter word: %.1f ms, %d tokens (CPU time)\n", LONG_WORD, elapsed_us(&t0, &t1) / 1e3,
           n_long);
    free(long_ids);
    free(word);
}

int main(void)
{
    vkr_clip_tokenizer *tok = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    int rc = vkr_clip_tokenizer_load(T2V_DIR "/tokenizer", &tok);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    CHECK(rc == 0, "load: %s", vkr_last_error());
    if (rc)
        return check_summary("test_tokenizer_clip");
    printf("clip tokenizer load: %.1f ms CPU\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    CHECK_EQ_INT(vkr_clip_model_max_length(tok), 77);
    CHECK_EQ_INT(vkr_clip_bos_id(tok), 49406);
    CHECK_EQ_INT(vkr_clip_eos_id(tok), 49407);
    CHECK_EQ_STR(vkr_clip_token_str(tok, 49407), "<|endoftext|>");
    CHECK_EQ_STR(vkr_clip_token_str(tok, 256), "!</w>");

    speed(tok);
    golden_prompts(tok);
    pipeline_ids(tok);
    edge_cases(tok);
    random_vectors(tok);
    vkr_clip_tokenizer_free(tok);
    resaved_configs();

    vkr_clip_tokenizer *none = NULL;
    CHECK_EQ_INT(vkr_clip_tokenizer_load("tests/golden/does_not_exist", &none), VKR_E_NOINPUT);
    CHECK(none == NULL, "no tokenizer on failure");
    return check_summary("test_tokenizer_clip");
}
