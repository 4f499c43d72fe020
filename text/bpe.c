/* Merge-rank byte-level BPE; see bpe.h. */
#include "text/bpe.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/status.h"
#include "text/unicode.h"

int vkr_i32buf_push(vkr_i32buf *b, int32_t v)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        int32_t *p = realloc(b->v, cap * sizeof(*p));
        if (!p)
            return vkr_fail(VKR_E_INTERNAL, "out of memory (%zu ids)", cap);
        b->v = p;
        b->cap = cap;
    }
    b->v[b->n++] = v;
    return 0;
}

void vkr_i32buf_free(vkr_i32buf *b)
{
    free(b->v);
    memset(b, 0, sizeof(*b));
}

int vkr_i32buf_finish(int rc, vkr_i32buf *b, const char *what, int32_t **ids, int *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    if (!rc && b->n > INT32_MAX)
        rc = vkr_fail(VKR_E_DATA, "prompt too long");
    if (rc) {
        vkr_i32buf_free(b);
        return vkr_fail_context(rc, "%s", what);
    }
    *ids = b->v;
    *n_ids = (int)b->n;
    return VKR_OK;
}

/* ---- string map ---- */

struct vkr_strmap_slot {
    uint32_t off, len, hash;
    int32_t val; /* -1: empty slot */
};

static uint32_t fnv1a(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    /* FNV's low bits mix poorly for short keys; the table indexes with them */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h;
}

static struct vkr_strmap_slot *strmap_find(const vkr_strmap *m, const char *key, size_t len, uint32_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct vkr_strmap_slot *s = &m->slots[i];
        if (s->val < 0)
            return s;
        if (s->hash == h && s->len == len && memcmp(m->arena + s->off, key, len) == 0)
            return s;
    }
}

static int strmap_grow(vkr_strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct vkr_strmap_slot *slots = malloc(cap * sizeof(*slots));
    if (!slots)
        return vkr_fail(VKR_E_INTERNAL, "out of memory (string map of %zu slots)", cap);
    for (size_t i = 0; i < cap; i++)
        slots[i].val = -1;
    struct vkr_strmap_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].val < 0)
            continue;
        struct vkr_strmap_slot *s = strmap_find(m, m->arena + old[i].off, old[i].len, old[i].hash);
        *s = old[i];
    }
    free(old);
    return 0;
}

/* Appends len bytes + NUL to the arena; returns the offset through *off. */
static int arena_add(vkr_strmap *m, const char *s, size_t len, uint32_t *off)
{
    if (m->arena_len + len + 1 > UINT32_MAX)
        return vkr_fail(VKR_E_DATA, "tokenizer strings exceed 4 GiB");
    if (m->arena_len + len + 1 > m->arena_cap) {
        size_t cap = m->arena_cap ? m->arena_cap : 1 << 16;
        while (cap < m->arena_len + len + 1)
            cap *= 2;
        char *p = realloc(m->arena, cap);
        if (!p)
            return vkr_fail(VKR_E_INTERNAL, "out of memory (string arena of %zu bytes)", cap);
        m->arena = p;
        m->arena_cap = cap;
    }
    memcpy(m->arena + m->arena_len, s, len);
    m->arena[m->arena_len + len] = 0;
    *off = (uint32_t)m->arena_len;
    m->arena_len += len + 1;
    return 0;
}

int vkr_strmap_put(vkr_strmap *m, const char *key, size_t len, int32_t val, int32_t *old)
{
    if (val < 0)
        return vkr_fail(VKR_E_INTERNAL, "strmap: negative value");
    if ((m->n + 1) * 4 > m->cap * 3) {
        int rc = strmap_grow(m);
        if (rc)
            return rc;
    }
    uint32_t h = fnv1a(key, len);
    struct vkr_strmap_slot *s = strmap_find(m, key, len, h);
    if (old)
        *old = s->val;
    if (s->val >= 0) {
        s->val = val;
        return 0;
    }
    uint32_t off = 0;
    int rc = arena_add(m, key, len, &off);
    if (rc)
        return rc;
    s->off = off;
    s->len = (uint32_t)len;
    s->hash = h;
    s->val = val;
    m->n++;
    return 0;
}

int32_t vkr_strmap_get(const vkr_strmap *m, const char *key, size_t len)
{
    if (!m->cap)
        return -1;
    return strmap_find(m, key, len, fnv1a(key, len))->val;
}

void vkr_strmap_free(vkr_strmap *m)
{
    free(m->arena);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* ---- symbols ---- */

/* Interns a symbol string; returns its index through *sym. */
static int intern(vkr_bpe *bpe, const char *s, size_t len, int32_t *sym)
{
    int32_t found = vkr_strmap_get(&bpe->syms, s, len);
    if (found >= 0) {
        *sym = found;
        return 0;
    }
    if (bpe->n_syms >= INT32_MAX)
        return vkr_fail(VKR_E_DATA, "too many BPE symbols");
    if (bpe->n_syms == bpe->syms_cap) {
        size_t cap = bpe->syms_cap ? bpe->syms_cap * 2 : 4096;
        int32_t *v = realloc(bpe->sym_vocab, cap * sizeof(*v));
        if (!v)
            return vkr_fail(VKR_E_INTERNAL, "out of memory (BPE symbols)");
        bpe->sym_vocab = v;
        uint32_t *st = realloc(bpe->sym_str, cap * sizeof(*st));
        if (!st)
            return vkr_fail(VKR_E_INTERNAL, "out of memory (BPE symbols)");
        bpe->sym_str = st;
        bpe->syms_cap = cap;
    }
    int32_t idx = (int32_t)bpe->n_syms;
    int rc = vkr_strmap_put(&bpe->syms, s, len, idx, NULL);
    if (rc)
        return rc;
    /* the key just went to the end of the arena */
    bpe->sym_str[idx] = (uint32_t)(bpe->syms.arena_len - len - 1);
    bpe->sym_vocab[idx] = -1;
    bpe->n_syms++;
    *sym = idx;
    return 0;
}

/* ---- merges: (sym a, sym b) -> (rank, merged sym) ---- */

struct vkr_merge_slot {
    uint64_t key; /* UINT64_MAX: empty */
    int32_t rank, merged;
};

static uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b; }

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static struct vkr_merge_slot *merge_find(struct vkr_merge_slot *t, size_t cap, uint64_t key)
{
    size_t mask = cap - 1;
    for (size_t i = mix64(key) & mask;; i = (i + 1) & mask)
        if (t[i].key == key || t[i].key == UINT64_MAX)
            return &t[i];
}

static const struct vkr_merge_slot *merge_get(const vkr_bpe *bpe, int32_t a, int32_t b)
{
    if (!bpe->merges_cap)
        return NULL;
    const struct vkr_merge_slot *s = merge_find(bpe->merges, bpe->merges_cap, pair_key(a, b));
    return s->key == UINT64_MAX ? NULL : s;
}

int vkr_bpe_add_merge(vkr_bpe *bpe, const char *a, size_t alen, const char *b, size_t blen, int32_t rank)
{
    int32_t sa, sb, sm;
    char stack[256];
    char *cat = alen + blen < sizeof(stack) ? stack : malloc(alen + blen + 1);
    if (!cat)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    memcpy(cat, a, alen);
    memcpy(cat + alen, b, blen);
    int rc = intern(bpe, a, alen, &sa);
    if (!rc)
        rc = intern(bpe, b, blen, &sb);
    if (!rc)
        rc = intern(bpe, cat, alen + blen, &sm);
    if (cat != stack)
        free(cat);
    if (rc)
        return rc;
    if ((bpe->n_merges + 1) * 2 > bpe->merges_cap) {
        size_t cap = bpe->merges_cap ? bpe->merges_cap * 2 : 1 << 16;
        struct vkr_merge_slot *t = malloc(cap * sizeof(*t));
        if (!t)
            return vkr_fail(VKR_E_INTERNAL, "out of memory (merge table)");
        for (size_t i = 0; i < cap; i++)
            t[i].key = UINT64_MAX;
        for (size_t i = 0; i < bpe->merges_cap; i++)
            if (bpe->merges[i].key != UINT64_MAX)
                *merge_find(t, cap, bpe->merges[i].key) = bpe->merges[i];
        free(bpe->merges);
        bpe->merges = t;
        bpe->merges_cap = cap;
    }
    uint64_t key = pair_key(sa, sb);
    struct vkr_merge_slot *s = merge_find(bpe->merges, bpe->merges_cap, key);
    if (s->key == UINT64_MAX)
        bpe->n_merges++;
    s->key = key;
    s->rank = rank;
    s->merged = sm;
    return 0;
}

/* ---- setup ---- */

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the
 * other 68 bytes to U+0100.. in byte order. */
static uint32_t byte_to_unicode(int b)
{
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return (uint32_t)b;
    int n = 0;
    for (int k = 0; k < b; k++)
        if (!((k >= '!' && k <= '~') || (k >= 0xA1 && k <= 0xAC) || (k >= 0xAE && k <= 0xFF)))
            n++;
    return 256u + (uint32_t)n;
}

int vkr_bpe_init(vkr_bpe *bpe, const char *eow)
{
    memset(bpe, 0, sizeof(*bpe));
    if (strlen(eow) >= sizeof(bpe->eow))
        return vkr_fail(VKR_E_INTERNAL, "end-of-word suffix too long");
    strcpy(bpe->eow, eow);
    size_t eowlen = strlen(eow);
    for (int b = 0; b < 256; b++) {
        char s[16];
        int n = vkr_utf8_encode(byte_to_unicode(b), s);
        int rc = intern(bpe, s, (size_t)n, &bpe->byte_sym[b]);
        if (rc)
            return rc;
        memcpy(s + n, eow, eowlen);
        rc = intern(bpe, s, (size_t)n + eowlen, &bpe->byte_sym_eow[b]);
        if (rc)
            return rc;
    }
    return 0;
}

void vkr_bpe_free(vkr_bpe *bpe)
{
    vkr_strmap_free(&bpe->syms);
    vkr_strmap_free(&bpe->cache);
    vkr_i32buf_free(&bpe->cache_ids);
    free(bpe->sym_vocab);
    free(bpe->sym_str);
    free(bpe->vocab_sym);
    free(bpe->merges);
    memset(bpe, 0, sizeof(*bpe));
}

int vkr_bpe_load_vocab_json(vkr_bpe *bpe, const char *path)
{
    char *text = NULL;
    size_t len;
    cJSON *root = NULL;
    int rc = vkr_read_file(path, VKR_TOKENIZER_MAX_FILE, &text, &len);
    if (rc)
        return rc;
    root = cJSON_ParseWithLength(text, len);
    if (!root || !cJSON_IsObject(root)) {
        rc = vkr_fail(VKR_E_DATA, "%s: not a JSON object", path);
        goto fail;
    }
    int32_t max_id = -1;
    for (cJSON *e = root->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e8 ||
            e->valuedouble != (double)(int32_t)e->valuedouble || !e->string) {
            rc = vkr_fail(VKR_E_DATA, "%s: entry \"%s\" is not a token id", path, e->string ? e->string : "");
            goto fail;
        }
        if ((int32_t)e->valuedouble > max_id)
            max_id = (int32_t)e->valuedouble;
    }
    free(bpe->vocab_sym);
    bpe->n_vocab = max_id + 1;
    bpe->vocab_sym = malloc(((size_t)bpe->n_vocab + 1) * sizeof(int32_t));
    if (!bpe->vocab_sym) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }
    for (int32_t i = 0; i < bpe->n_vocab; i++)
        bpe->vocab_sym[i] = -1;
    for (cJSON *e = root->child; e; e = e->next) {
        int32_t id = (int32_t)e->valuedouble, sym;
        rc = intern(bpe, e->string, strlen(e->string), &sym);
        if (rc)
            goto fail;
        /* json.load keeps the last duplicate key; the decoder keeps the last token per id */
        bpe->sym_vocab[sym] = id;
        bpe->vocab_sym[id] = sym;
    }
fail:
    cJSON_Delete(root);
    free(text);
    return rc;
}

int32_t vkr_bpe_token_id(const vkr_bpe *bpe, const char *tok, size_t len)
{
    int32_t sym = vkr_strmap_get(&bpe->syms, tok, len);
    return sym < 0 ? -1 : bpe->sym_vocab[sym];
}

const char *vkr_bpe_token_str(const vkr_bpe *bpe, int32_t id)
{
    if (id < 0 || id >= bpe->n_vocab || bpe->vocab_sym[id] < 0)
        return NULL;
    return bpe->syms.arena + bpe->sym_str[bpe->vocab_sym[id]];
}

/* ---- encoding ---- */

enum { CACHE_MAX_WORDS = 1 << 16, CACHE_MAX_WORD_BYTES = 256 };

int vkr_bpe_encode_word(vkr_bpe *bpe, const char *word, size_t len, int32_t unk_id, vkr_i32buf *out)
{
    if (len == 0)
        return 0;
    int cacheable = len <= CACHE_MAX_WORD_BYTES;
    if (cacheable) {
        int32_t at = vkr_strmap_get(&bpe->cache, word, len);
        if (at >= 0) {
            for (int32_t k = 0; k < bpe->cache_ids.v[at]; k++) {
                int rc = vkr_i32buf_push(out, bpe->cache_ids.v[at + 1 + k]);
                if (rc)
                    return rc;
            }
            return 0;
        }
    }
    /* sym[i]: the symbols; pm[i]: the merge of the pair (sym[i], sym[i+1]) or NULL.
     * Pair lookups are redone only next to a merge, so a long word costs one
     * scan per merge step instead of one hash probe per pair per step. */
    int32_t sym_stack[128];
    const struct vkr_merge_slot *pm_stack[128];
    int32_t *sym = len <= 128 ? sym_stack : malloc(len * sizeof(*sym));
    const struct vkr_merge_slot **pm = len <= 128 ? pm_stack : malloc(len * sizeof(*pm));
    if (!sym || !pm) {
        if (sym != sym_stack)
            free(sym);
        if (pm != pm_stack)
            free(pm);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    const unsigned char *w = (const unsigned char *)word;
    size_t n = len;
    for (size_t i = 0; i < n; i++)
        sym[i] = i + 1 == n ? bpe->byte_sym_eow[w[i]] : bpe->byte_sym[w[i]];
    for (size_t i = 0; i + 1 < n; i++)
        pm[i] = merge_get(bpe, sym[i], sym[i + 1]);
    while (n > 1) {
        /* the ranked pair with the lowest rank (ranks are unique per pair) */
        const struct vkr_merge_slot *best = NULL;
        int32_t a = -1, b = -1;
        for (size_t i = 0; i + 1 < n; i++) {
            if (pm[i] && (!best || pm[i]->rank < best->rank)) {
                best = pm[i];
                a = sym[i];
                b = sym[i + 1];
            }
        }
        if (!best)
            break;
        /* merge every occurrence left to right, in place; src is the old index
         * of a copied symbol (-1 for a merged one), so an unchanged pair keeps
         * its lookup */
        size_t j = 0;
        ptrdiff_t prev_src = -1;
        for (size_t i = 0; i < n;) {
            int32_t s;
            ptrdiff_t src;
            if (i + 1 < n && sym[i] == a && sym[i + 1] == b) {
                s = best->merged;
                src = -1;
                i += 2;
            } else {
                s = sym[i];
                src = (ptrdiff_t)i;
                i++;
            }
            if (j > 0)
                pm[j - 1] = prev_src >= 0 && src == prev_src + 1 ? pm[prev_src] : merge_get(bpe, sym[j - 1], s);
            sym[j++] = s;
            prev_src = src;
        }
        n = j;
    }
    if (pm != pm_stack)
        free(pm);
    int rc = 0;
    size_t first = out->n;
    for (size_t i = 0; i < n && !rc; i++) {
        int32_t id = bpe->sym_vocab[sym[i]];
        rc = vkr_i32buf_push(out, id >= 0 ? id : unk_id);
    }
    if (sym != sym_stack)
        free(sym);
    if (rc || !cacheable)
        return rc;
    if (bpe->cache.n >= CACHE_MAX_WORDS) { /* bounded: start over rather than grow forever */
        vkr_strmap_free(&bpe->cache);
        bpe->cache_ids.n = 0;
    }
    int32_t at = (int32_t)bpe->cache_ids.n;
    rc = vkr_i32buf_push(&bpe->cache_ids, (int32_t)n);
    for (size_t i = 0; i < n && !rc; i++)
        rc = vkr_i32buf_push(&bpe->cache_ids, out->v[first + i]);
    if (!rc)
        rc = vkr_strmap_put(&bpe->cache, word, len, at, NULL);
    return rc;
}
