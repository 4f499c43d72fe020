/* Hugging Face special-token configuration and splitting; see special_tokens.h. */
#include "text/special_tokens.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/atomic_file.h"
#include "common/status.h"
#include "text/unicode.h"

static const char *const special_names[VKR_SPECIAL_COUNT] = {
    "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
};

int vkr_path_join(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return vkr_fail(VKR_E_USAGE, "path too long: %s/%s", dir, name);
    return 0;
}

int vkr_special_token_set(vkr_special_token_cfg *t, const char *content, int lstrip, int rstrip)
{
    char *c = strdup(content);
    if (!c)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    free(t->content);
    t->content = c;
    t->lstrip = lstrip;
    t->rstrip = rstrip;
    t->set = 1;
    return 0;
}

/* A token value: "text" or {"content": "text", "lstrip": bool, "rstrip": bool, ...}.
 * Returns 1 and fills the fields when `v` is one, 0 for null, -1 when malformed. */
static int parse_token_value(const cJSON *v, const char **content, int *lstrip, int *rstrip)
{
    *lstrip = *rstrip = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v)) {
        *content = v->valuestring;
        return 1;
    }
    if (!cJSON_IsObject(v))
        return -1;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (!cJSON_IsString(c))
        return -1;
    *content = c->valuestring;
    *lstrip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "lstrip"));
    *rstrip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "rstrip"));
    return 1;
}

static int load_json(const char *dir, const char *name, cJSON **out)
{
    char path[4096];
    struct stat st;
    *out = NULL;
    int rc = vkr_path_join(path, sizeof(path), dir, name);
    if (rc)
        return rc;
    if (stat(path, &st) != 0)
        return 0; /* optional */
    char *text;
    size_t len;
    rc = vkr_read_file(path, VKR_TOKENIZER_MAX_FILE, &text, &len);
    if (rc)
        return rc;
    *out = cJSON_ParseWithLength(text, len);
    free(text);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return vkr_fail(VKR_E_DATA, "%s: not a JSON object", path);
    }
    return 0;
}

static int apply_specials(vkr_tokenizer_config *cfg, const cJSON *root, const char *file)
{
    for (int k = 0; k < VKR_SPECIAL_COUNT; k++) {
        const char *content;
        int l, r;
        int got = parse_token_value(cJSON_GetObjectItemCaseSensitive(root, special_names[k]), &content, &l, &r);
        if (got < 0)
            return vkr_fail(VKR_E_DATA, "%s: %s is neither a string nor an AddedToken", file, special_names[k]);
        if (got > 0) {
            int rc = vkr_special_token_set(&cfg->special[k], content, l, r);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int vkr_tokenizer_config_load(vkr_tokenizer_config *cfg, const char *dir)
{
    cJSON *tc = NULL, *sm = NULL;
    int rc = load_json(dir, "tokenizer_config.json", &tc);
    if (!rc)
        rc = load_json(dir, "special_tokens_map.json", &sm);
    if (rc)
        goto done;
    if (tc) {
        rc = apply_specials(cfg, tc, "tokenizer_config.json");
        if (rc)
            goto done;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(tc, "model_max_length");
        if (cJSON_IsNumber(m))
            cfg->model_max_length = m->valuedouble >= 9.2e18 ? (long long)9.2e18 : (long long)m->valuedouble;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(tc, "add_prefix_space");
        if (cJSON_IsBool(p))
            cfg->add_prefix_space = cJSON_IsTrue(p);
        const cJSON *dec = cJSON_GetObjectItemCaseSensitive(tc, "added_tokens_decoder");
        for (const cJSON *e = dec ? dec->child : NULL; e; e = e->next) {
            const char *content;
            int l, r;
            char *endp;
            long id = strtol(e->string ? e->string : "", &endp, 10);
            if (!e->string || *endp || id < 0 || id > INT32_MAX || parse_token_value(e, &content, &l, &r) != 1) {
                rc = vkr_fail(VKR_E_DATA, "tokenizer_config.json: bad added_tokens_decoder entry \"%s\"",
                              e->string ? e->string : "");
                goto done;
            }
            rc = vkr_added_tokens_add(&cfg->decoder, content, (int32_t)id, l, r);
            if (rc)
                goto done;
        }
    }
    /* transformers' legacy loading: special_tokens_map.json wins over tokenizer_config.json */
    if (sm)
        rc = apply_specials(cfg, sm, "special_tokens_map.json");
done:
    cJSON_Delete(tc);
    cJSON_Delete(sm);
    if (rc)
        return vkr_fail_context(rc, "%s", dir);
    return 0;
}

void vkr_tokenizer_config_free(vkr_tokenizer_config *cfg)
{
    for (int k = 0; k < VKR_SPECIAL_COUNT; k++)
        free(cfg->special[k].content);
    vkr_added_tokens_free(&cfg->decoder);
    memset(cfg, 0, sizeof(*cfg));
}

int vkr_added_tokens_add(vkr_added_tokens *a, const char *content, int32_t id, int lstrip, int rstrip)
{
    if (!*content)
        return 0; /* transformers skips empty added tokens */
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->tok[i].content, content) == 0)
            return 0;
    vkr_added_token *t = realloc(a->tok, (size_t)(a->n + 1) * sizeof(*t));
    if (!t)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    a->tok = t;
    vkr_added_token *nt = &a->tok[a->n];
    memset(nt, 0, sizeof(*nt));
    vkr_u32buf cps = {0};
    int rc = vkr_utf8_decode(content, strlen(content), &cps);
    if (rc) {
        vkr_u32buf_free(&cps);
        return vkr_fail_context(rc, "special token");
    }
    nt->content = strdup(content);
    if (!nt->content) {
        vkr_u32buf_free(&cps);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    nt->cps = cps.cp;
    nt->n_cps = cps.n;
    nt->id = id;
    nt->lstrip = lstrip;
    nt->rstrip = rstrip;
    a->n++;
    return 0;
}

void vkr_added_tokens_free(vkr_added_tokens *a)
{
    for (int i = 0; i < a->n; i++) {
        free(a->tok[i].content);
        free(a->tok[i].cps);
    }
    free(a->tok);
    memset(a, 0, sizeof(*a));
}

static int push_piece(vkr_text_piece **p, size_t *n, size_t *cap, size_t start, size_t end, int special)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        vkr_text_piece *q = realloc(*p, c * sizeof(*q));
        if (!q)
            return vkr_fail(VKR_E_INTERNAL, "out of memory");
        *p = q;
        *cap = c;
    }
    (*p)[(*n)++] = (vkr_text_piece){start, end, special};
    return 0;
}

int vkr_added_tokens_split(const vkr_added_tokens *a, const uint32_t *cps, size_t n, vkr_text_piece **pieces,
                           size_t *n_pieces)
{
    vkr_text_piece *p = NULL;
    size_t np = 0, cap = 0, start = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        int best = -1;
        for (int k = 0; k < a->n; k++) {
            const vkr_added_token *t = &a->tok[k];
            if (t->n_cps <= n - i && memcmp(cps + i, t->cps, t->n_cps * sizeof(uint32_t)) == 0 &&
                (best < 0 || t->n_cps > a->tok[best].n_cps))
                best = k;
        }
        if (best < 0) {
            i++;
            continue;
        }
        if (i > start)
            rc = push_piece(&p, &np, &cap, start, i, -1);
        if (!rc)
            rc = push_piece(&p, &np, &cap, i, i + a->tok[best].n_cps, best);
        i += a->tok[best].n_cps;
        start = i;
    }
    if (!rc && start < n)
        rc = push_piece(&p, &np, &cap, start, n, -1);
    if (rc) {
        free(p);
        return rc;
    }
    /* lstrip/rstrip: the token eats the whitespace next to it in the neighbouring text piece */
    for (size_t i = 0; i < np; i++) {
        if (p[i].special < 0)
            continue;
        const vkr_added_token *t = &a->tok[p[i].special];
        if (t->rstrip && i + 1 < np && p[i + 1].special < 0)
            while (p[i + 1].start < p[i + 1].end && vkr_uc_is_pyspace(cps[p[i + 1].start]))
                p[i + 1].start++;
        if (t->lstrip && i > 0 && p[i - 1].special < 0)
            while (p[i - 1].end > p[i - 1].start && vkr_uc_is_pyspace(cps[p[i - 1].end - 1]))
                p[i - 1].end--;
    }
    size_t j = 0;
    for (size_t i = 0; i < np; i++)
        if (p[i].end > p[i].start)
            p[j++] = p[i];
    *pieces = p;
    *n_pieces = j;
    return 0;
}
