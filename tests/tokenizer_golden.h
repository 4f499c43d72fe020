/* Helpers shared by the tokenizer tests: JSON and I64 safetensors reading. */
#ifndef VKR_TEST_TOKENIZER_GOLDEN_H
#define VKR_TEST_TOKENIZER_GOLDEN_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/status.h"
#include "model/safetensors.h"
#include "text/bpe.h"

static cJSON *golden_json(const char *path)
{
    char *text;
    size_t len;
    if (vkr_read_file(path, VKR_TOKENIZER_MAX_FILE, &text, &len)) {
        fprintf(stderr, "cannot read %s\n", path);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j)
        fprintf(stderr, "%s: bad JSON\n", path);
    return j;
}

/* Copies a JSON array of integers into a malloc'd int32 array; -1 when not an array. */
static int golden_ids(const cJSON *arr, int32_t **out)
{
    *out = NULL;
    if (!cJSON_IsArray(arr))
        return -1;
    int n = cJSON_GetArraySize(arr);
    *out = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    int k = 0;
    for (const cJSON *e = arr->child; e; e = e->next)
        (*out)[k++] = (int32_t)e->valuedouble;
    return n;
}

/* Reads the integer tensor `name` of a safetensors file into a malloc'd int64
 * array; returns the element count or -1 (message on stderr). */
static long golden_st_i64(const char *path, const char *name, int64_t **out)
{
    vkr_safetensors st;
    long n = -1;
    *out = NULL;
    if (vkr_st_open(&st, path) != 0) {
        fprintf(stderr, "%s: %s\n", path, vkr_last_error());
        return -1;
    }
    const vkr_st_tensor *t = vkr_st_find(&st, name);
    if (!t) {
        fprintf(stderr, "%s: no tensor %s\n", path, name);
    } else {
        *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof(int64_t));
        if (*out && vkr_st_to_i64(t, *out) == 0)
            n = (long)t->numel;
        else
            fprintf(stderr, "%s: %s: %s\n", path, name, vkr_last_error());
    }
    vkr_st_close(&st);
    return n;
}

/* Compares two id lists; on mismatch prints the label, prompt, first differing index, expected and got. */
static int golden_cmp(const char *label, int idx, const char *prompt, const int32_t *exp, int n_exp,
                      const int32_t *got, int n_got)
{
    int i = 0;
    while (i < n_exp && i < n_got && exp[i] == got[i])
        i++;
    if (i == n_exp && i == n_got)
        return 1;
    fprintf(stderr, "%s: prompt %d \"%.200s\": length expected %d got %d; first difference at index %d: "
                    "expected %d got %d\n  expected:",
            label, idx, prompt, n_exp, n_got, i, i < n_exp ? exp[i] : -1, i < n_got ? got[i] : -1);
    for (int k = 0; k < n_exp && k < 80; k++)
        fprintf(stderr, " %d", exp[k]);
    fprintf(stderr, "\n  got:     ");
    for (int k = 0; k < n_got && k < 80; k++)
        fprintf(stderr, " %d", got[k]);
    fprintf(stderr, "\n");
    return 0;
}

#endif

#include <limits.h>
#include <unistd.h>

/* A temporary tokenizer directory: vocab.json and merges.txt linked from `src`,
 * tokenizer_config.json (and special_tokens_map.json when non-NULL) written. */
static int make_tokenizer_dir(char *dir, const char *src, const char *config, const char *special_map)
{
    char path[PATH_MAX], target[PATH_MAX], abs_src[PATH_MAX];
    strcpy(dir, "/tmp/vkr_tok_XXXXXX");
    if (!mkdtemp(dir) || !realpath(src, abs_src))
        return -1;
    const char *names[2] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2; i++) {
        int a = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int b = snprintf(target, sizeof(target), "%s/%s", abs_src, names[i]);
        if (a < 0 || b < 0 || (size_t)a >= sizeof(path) || (size_t)b >= sizeof(target) || symlink(target, path) != 0)
            return -1;
    }
    const char *files[2] = {"tokenizer_config.json", "special_tokens_map.json"};
    const char *texts[2] = {config, special_map};
    for (int i = 0; i < 2; i++) {
        if (!texts[i])
            continue;
        int a = snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        FILE *f = a > 0 && (size_t)a < sizeof(path) ? fopen(path, "w") : NULL;
        if (!f)
            return -1;
        fputs(texts[i], f);
        fclose(f);
    }
    return 0;
}

static void remove_tokenizer_dir(const char *dir)
{
    char path[PATH_MAX];
    const char *names[4] = {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"};
    for (int i = 0; i < 4; i++) {
        int a = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (a > 0 && (size_t)a < sizeof(path))
            unlink(path);
    }
    rmdir(dir);
}
