/* RoBERTa tokenizer vs transformers 4.38.2's slow RobertaTokenizer: every prompt of
 * tests/golden/tokenizer_roberta/expected.json (with both vocab.json layouts), the
 * pipeline_audioldm ids and masks (512 and the 32-long negative-prompt quirk), and
 * edge cases of the GPT-2 split pattern. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/status.h"
#include "tests/check.h"
#include "tests/tokenizer_golden.h"
#include "text/tokenizer_roberta.h"

#define AUDIOLDM_DIR "tests/golden/pipeline_audioldm"

static void golden_prompts(vkr_roberta_tokenizer *tok, const char *label)
{
    cJSON *root = golden_json("tests/golden/tokenizer_roberta/expected.json");
    CHECK(root != NULL, "expected.json");
    if (!root)
        return;
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    CHECK_EQ_INT(cJSON_GetArraySize(cases), 43);
    int idx = 0;
    int32_t *got = malloc(512 * sizeof(int32_t)), *mask = malloc(512 * sizeof(int32_t));
    for (const cJSON *c = cases->child; c; c = c->next, idx++) {
        const char *prompt = cJSON_GetObjectItemCaseSensitive(c, "prompt")->valuestring;
        int32_t *exp = NULL, *raw = NULL;
        int n_exp = golden_ids(cJSON_GetObjectItemCaseSensitive(c, "input_ids"), &exp), n_real = 0, n_raw = 0;
        int rc = vkr_roberta_tokenize(tok, prompt, 512, got, mask, &n_real);
        CHECK(rc == 0, "%s prompt %d: %s", label, idx, vkr_last_error());
        if (rc == 0 && n_exp >= 0) {
            CHECK(golden_cmp(label, idx, prompt, exp, n_exp, got, n_real), "%s: prompt %d input_ids", label, idx);
            int pad_ok = 1;
            for (int i = 0; i < 512; i++)
                pad_ok &= mask[i] == (i < n_real) && (i < n_real || got[i] == 1);
            CHECK(pad_ok, "%s: prompt %d padding/mask", label, idx);
        }
        /* untruncated length and token strings */
        rc = vkr_roberta_encode(tok, prompt, &raw, &n_raw);
        CHECK(rc == 0 && n_raw + 2 == (int)cJSON_GetObjectItemCaseSensitive(c, "n_tokens_untruncated")->valuedouble,
              "%s: prompt %d untruncated length %d", label, idx, n_raw + 2);
        const cJSON *toks = cJSON_GetObjectItemCaseSensitive(c, "tokens");
        int i = 0, ok = cJSON_GetArraySize(toks) == n_real;
        for (const cJSON *e = toks ? toks->child : NULL; ok && e; e = e->next, i++) {
            const char *s = vkr_roberta_token_str(tok, got[i]);
            ok = s && cJSON_IsString(e) && strcmp(s, e->valuestring) == 0;
            if (!ok)
                fprintf(stderr, "%s tokens: prompt %d index %d expected \"%s\" got \"%s\"\n", label, idx, i,
                        cJSON_IsString(e) ? e->valuestring : "?", s ? s : "(null)");
        }
        CHECK(ok, "%s: prompt %d token strings", label, idx);
        free(exp);
        free(raw);
    }
    free(got);
    free(mask);
    cJSON_Delete(root);
}

static void check_st(const char *name, const int32_t *got, int n, const char *text)
{
    int64_t *ref = NULL;
    long m = golden_st_i64(AUDIOLDM_DIR "/io.safetensors", name, &ref);
    CHECK(m == n, "%s: %ld elements, expected %d", name, m, n);
    if (m == n) {
        int32_t *exp = malloc((size_t)n * sizeof(int32_t));
        for (int i = 0; i < n; i++)
            exp[i] = (int32_t)ref[i];
        CHECK(golden_cmp(name, 0, text, exp, n, got, n), "%s", name);
        free(exp);
    }
    free(ref);
}

/* AudioLDM: the prompt padded to model_max_length (512), the negative prompt to
 * prompt_embeds.shape[1] (32 for the tiny model). */
static void pipeline_ids(vkr_roberta_tokenizer *tok)
{
    cJSON *cs = golden_json(AUDIOLDM_DIR "/case.json");
    CHECK(cs != NULL, "case.json");
    if (!cs)
        return;
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(cs, "parameters");
    const char *prompt = cJSON_GetObjectItemCaseSensitive(par, "prompt")->valuestring;
    const char *neg = cJSON_GetObjectItemCaseSensitive(par, "negative_prompt")->valuestring;
    int32_t ids[512], mask[512];
    int max = vkr_roberta_model_max_length(tok);
    CHECK_EQ_INT(max, 512);
    CHECK_EQ_INT(vkr_roberta_tokenize(tok, prompt, max, ids, mask, NULL), 0);
    check_st("out.input_ids_cond", ids, 512, prompt);
    check_st("out.attention_mask_cond", mask, 512, prompt);
    CHECK_EQ_INT(vkr_roberta_tokenize(tok, neg, 32, ids, mask, NULL), 0);
    check_st("out.input_ids_uncond", ids, 32, neg);
    check_st("out.attention_mask_uncond", mask, 32, neg);
    cJSON_Delete(cs);
}

static int enc(vkr_roberta_tokenizer *tok, const char *text, const char **strs, int cap)
{
    int32_t *ids;
    int n;
    if (vkr_roberta_encode(tok, text, &ids, &n) != 0)
        return -1;
    for (int i = 0; i < n && i < cap; i++)
        strs[i] = vkr_roberta_token_str(tok, ids[i]);
    free(ids);
    return n;
}

/* Token strings expected from the GPT-2 pattern; "Ġ" is a space, "Ċ" a newline. */
static void expect_tokens(vkr_roberta_tokenizer *tok, const char *text, int n, const char *const *exp)
{
    const char *got[64] = {0};
    int m = enc(tok, text, got, 64);
    int ok = m == n;
    for (int i = 0; ok && i < n; i++)
        ok = got[i] && strcmp(got[i], exp[i]) == 0;
    if (!ok) {
        fprintf(stderr, "\"%s\": expected %d tokens:", text, n);
        for (int i = 0; i < n; i++)
            fprintf(stderr, " [%s]", exp[i]);
        fprintf(stderr, "\n  got %d:", m);
        for (int i = 0; i < m && i < 64; i++)
            fprintf(stderr, " [%s]", got[i] ? got[i] : "?");
        fprintf(stderr, "\n");
    }
    CHECK(ok, "split of \"%s\"", text);
}

static void edge_cases(vkr_roberta_tokenizer *tok)
{
    int32_t ids[512], mask[512];
    int n_real;
    CHECK_EQ_INT(vkr_roberta_tokenize(tok, "", 8, ids, mask, &n_real), 0);
    CHECK(n_real == 2 && ids[0] == 0 && ids[1] == 2 && ids[2] == 1 && mask[1] == 1 && mask[2] == 0, "empty prompt");
    /* \s+(?!\S): a run of spaces before a word gives up its last space to the word */
    /* ("ĊĊ" is a merge, "ĠĠ" is not in roberta-base) */
    expect_tokens(tok, "a\n\n\nb", 4, (const char *const[]){"a", "ĊĊ", "Ċ", "b"});
    expect_tokens(tok, "a\n\n", 2, (const char *const[]){"a", "ĊĊ"});
    expect_tokens(tok, "a\n\n b", 3, (const char *const[]){"a", "ĊĊ", "Ġb"});
    expect_tokens(tok, "a\n\nb", 4, (const char *const[]){"a", "Ċ", "Ċ", "b"});
    expect_tokens(tok, "a   b", 4, (const char *const[]){"a", "Ġ", "Ġ", "Ġb"});
    expect_tokens(tok, "a \nb", 4, (const char *const[]){"a", "Ġ", "Ċ", "b"});
    expect_tokens(tok, " x", 1, (const char *const[]){"Ġx"});
    /* contractions are case-sensitive and come before letters */
    expect_tokens(tok, "it's", 2, (const char *const[]){"it", "'s"});
    expect_tokens(tok, "IT'S", 3, (const char *const[]){"IT", "'", "S"});
    expect_tokens(tok, "1,000", 3, (const char *const[]){"1", ",", "000"});
    /* special-token strings are split out; <mask> eats the spaces on its left */
    const char *got[16];
    CHECK(enc(tok, "a <mask> b", got, 16) == 3 && strcmp(got[0], "a") == 0 && strcmp(got[1], "<mask>") == 0 &&
              strcmp(got[2], "Ġb") == 0, "<mask> lstrip");
    CHECK(enc(tok, "x</s>y", got, 16) == 3 && strcmp(got[1], "</s>") == 0, "</s> in text");
    /* truncation: [<s>] + bpe[:max-2] + [</s>], for any max_length */
    char longtxt[3000] = "";
    for (int i = 0; i < 600; i++)
        strcat(longtxt, " a");
    CHECK_EQ_INT(vkr_roberta_tokenize(tok, longtxt, 512, ids, mask, &n_real), 0);
    CHECK(n_real == 512 && ids[511] == 2 && ids[510] == 10 && mask[511] == 1, "truncated to 512: last %d", ids[511]);
    CHECK_EQ_INT(vkr_roberta_tokenize(tok, longtxt, 4, ids, mask, &n_real), 0);
    CHECK(n_real == 4 && ids[0] == 0 && ids[3] == 2, "truncated to 4");
    CHECK_EQ_INT(vkr_roberta_tokenize(tok, "x", 1, ids, mask, NULL), VKR_E_USAGE);
    int32_t *p = NULL;
    int n = 0;
    CHECK_EQ_INT(vkr_roberta_encode(tok, "\xFF", &p, &n), VKR_E_DATA);
}

/* Random strings vs the Python model of the reference (tools/gen_tokenizer_vectors.py). */
static void random_vectors(vkr_roberta_tokenizer *tok)
{
    cJSON *root = golden_json("tests/data/tokenizer_vectors.json");
    CHECK(root != NULL, "tests/data/tokenizer_vectors.json");
    if (!root)
        return;
    int idx = 0;
    for (const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "cases")->child; c; c = c->next, idx++) {
        const char *text = cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring;
        int32_t *exp = NULL, *got = NULL;
        int n_exp = golden_ids(cJSON_GetObjectItemCaseSensitive(c, "roberta"), &exp), n_got = 0;
        int rc = vkr_roberta_encode(tok, text, &got, &n_got);
        CHECK(rc == 0 && golden_cmp("roberta random", idx, text, exp, n_exp, got, n_got), "random vector %d", idx);
        free(exp);
        free(got);
    }
    CHECK(idx >= 400, "only %d random vectors", idx);
    cJSON_Delete(root);
}

/* add_prefix_space = true: " " + text unless it starts with whitespace. */
static void prefix_space(void)
{
    char dir[64];
    vkr_roberta_tokenizer *tok = NULL;
    CHECK(make_tokenizer_dir(dir, AUDIOLDM_DIR "/tokenizer", "{\"add_prefix_space\": true, \"model_max_length\": 77}",
                             NULL) == 0, "temp dir");
    CHECK_EQ_INT(vkr_roberta_tokenizer_load(dir, &tok), 0);
    if (tok) {
        CHECK_EQ_INT(vkr_roberta_model_max_length(tok), 77);
        expect_tokens(tok, "rain on", 2, (const char *const[]){"Ġrain", "Ġon"});
        expect_tokens(tok, " rain", 1, (const char *const[]){"Ġrain"});
        expect_tokens(tok, "\nrain", 2, (const char *const[]){"Ċ", "rain"});
        expect_tokens(tok, "<s>rain", 3, (const char *const[]){"Ġ", "<s>", "rain"}); /* the prefix goes before the split */
        vkr_roberta_tokenizer_free(tok);
    }
    remove_tokenizer_dir(dir);
}

int main(void)
{
    struct timespec t0, t1;
    const char *dirs[2] = {AUDIOLDM_DIR "/tokenizer", "tests/golden/tokenizer_roberta"};
    for (int d = 0; d < 2; d++) {
        vkr_roberta_tokenizer *tok = NULL;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        int rc = vkr_roberta_tokenizer_load(dirs[d], &tok);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        CHECK(rc == 0, "load %s: %s", dirs[d], vkr_last_error());
        if (rc)
            continue;
        printf("roberta tokenizer load (%s): %.1f ms CPU\n", dirs[d],
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
        CHECK_EQ_INT(vkr_roberta_bos_id(tok), 0);
        CHECK_EQ_INT(vkr_roberta_eos_id(tok), 2);
        CHECK_EQ_INT(vkr_roberta_pad_id(tok), 1);
        CHECK_EQ_INT(vkr_roberta_model_max_length(tok), 512);
        golden_prompts(tok, dirs[d]);
        if (d == 0) {
            pipeline_ids(tok);
            edge_cases(tok);
            random_vectors(tok);
        }
        vkr_roberta_tokenizer_free(tok);
    }
    prefix_space();
    return check_summary("test_tokenizer_roberta");
}
