/* Strict, iterative, position-keeping JSON reader (see json_dom.h). */
#include "json_dom.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- arena */

struct vkr_json_arena_block {
    vkr_json_arena_block *next;
    size_t used, cap;
    size_t pad_; /* keeps the data that follows the header 16-byte aligned */
};

#define ARENA_BLOCK_BYTES (64u << 10)

static void *arena_alloc(vkr_json_arena_block **head, size_t size)
{
    size = (size + 15u) & ~(size_t)15u;
    vkr_json_arena_block *b = *head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK_BYTES ? size : ARENA_BLOCK_BYTES;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = *head;
        b->used = 0;
        b->cap = cap;
        *head = b;
    }
    void *p = (unsigned char *)(b + 1) + b->used;
    b->used += size;
    return p;
}

void vkr_json_free(vkr_json_doc *doc)
{
    vkr_json_arena_block *b = doc->arena;
    while (b) {
        vkr_json_arena_block *next = b->next;
        free(b);
        b = next;
    }
    doc->arena = NULL;
    doc->root = NULL;
}

/* ---------------------------------------------------------------- pointers */

static bool jptr_reserve(vkr_jptr *p, size_t extra)
{
    if (p->oom)
        return false;
    if (p->len + extra + 1 <= p->cap)
        return true;
    size_t cap = p->cap ? p->cap : 64;
    while (cap < p->len + extra + 1)
        cap *= 2;
    char *buf = realloc(p->buf, cap);
    if (!buf) {
        p->oom = true;
        return false;
    }
    p->buf = buf;
    p->cap = cap;
    return true;
}

size_t vkr_jptr_push_key(vkr_jptr *p, const char *key, size_t key_len)
{
    size_t old = p->len;
    size_t need = 1;
    for (size_t i = 0; i < key_len; i++)
        need += (key[i] == '~' || key[i] == '/') ? 2 : 1;
    if (!jptr_reserve(p, need))
        return old;
    p->buf[p->len++] = '/';
    for (size_t i = 0; i < key_len; i++) {
        if (key[i] == '~') {
            p->buf[p->len++] = '~';
            p->buf[p->len++] = '0';
        } else if (key[i] == '/') {
            p->buf[p->len++] = '~';
            p->buf[p->len++] = '1';
        } else {
            p->buf[p->len++] = key[i];
        }
    }
    p->buf[p->len] = 0;
    return old;
}

size_t vkr_jptr_push_index(vkr_jptr *p, size_t index)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "/%zu", index);
    size_t old = p->len;
    if (!jptr_reserve(p, (size_t)n))
        return old;
    memcpy(p->buf + p->len, tmp, (size_t)n + 1);
    p->len += (size_t)n;
    return old;
}

void vkr_jptr_pop(vkr_jptr *p, size_t old_len)
{
    if (old_len <= p->len && p->buf) {
        p->len = old_len;
        p->buf[p->len] = 0;
    }
}

const char *vkr_jptr_str(const vkr_jptr *p) { return p->buf ? p->buf : ""; }

void vkr_jptr_free(vkr_jptr *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid; on 0,
 * *bad is the offset of the first byte that makes it invalid. Rejects overlong
 * forms, surrogates and code points above U+10FFFF (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, const unsigned char *end, size_t *bad)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else {
        *bad = 0;
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (s + i >= end || s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return n;
}

char *vkr_json_snippet(char *out, size_t out_size, const char *s, size_t len, size_t max_bytes)
{
    size_t o = 0;
    if (out_size == 0)
        return out;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        char tmp[16];
        size_t tn, adv = 1;
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tn = 2;
        } else if (c == '\n') {
            memcpy(tmp, "\\n", 2);
            tn = 2;
        } else if (c == '\t') {
            memcpy(tmp, "\\t", 2);
            tn = 2;
        } else if (c < 0x20 || c == 0x7F) {
            tn = (size_t)snprintf(tmp, sizeof tmp, "\\u%04X", c);
        } else if (c < 0x80) {
            tmp[0] = (char)c;
            tn = 1;
        } else {
            size_t bad;
            size_t n = utf8_seq(p, end, &bad);
            if (n) {
                memcpy(tmp, p, n);
                tn = n;
                adv = n;
            } else {
                tn = (size_t)snprintf(tmp, sizeof tmp, "\\x%02X", c);
            }
        }
        bool more = p + adv < end;
        if (o + tn > max_bytes && more) {
            if (o + 4 <= out_size) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (o + tn + 1 > out_size)
            break;
        memcpy(out + o, tmp, tn);
        o += tn;
        p += adv;
    }
    out[o] = 0;
    return out;
}

const char *vkr_json_type_name(vkr_json_type t)
{
    switch (t) {
    case VKR_JSON_NULL: return "null";
    case VKR_JSON_FALSE:
    case VKR_JSON_TRUE: return "a boolean";
    case VKR_JSON_NUMBER: return "a number";
    case VKR_JSON_STRING: return "a string";
    case VKR_JSON_ARRAY: return "an array";
    case VKR_JSON_OBJECT: return "an object";
    }
    return "a value";
}

/* ---------------------------------------------------------------- duplicate keys */

/* One hash set for the whole document, keyed by (object, member name). */
typedef struct {
    const vkr_json *object;
    const vkr_json *member;
    uint64_t hash;
} key_slot;

typedef struct {
    key_slot *slots;
    size_t cap, count;
} key_set;

static uint64_t key_hash(const vkr_json *object, const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(uintptr_t)object;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    return h;
}

/* Returns the earlier member with the same name, NULL after inserting, or sets *oom. */
static const vkr_json *key_set_insert(key_set *ks, const vkr_json *object, const vkr_json *member,
                                      bool *oom)
{
    if ((ks->count + 1) * 2 > ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 256;
        key_slot *slots = calloc(cap, sizeof *slots);
        if (!slots) {
            *oom = true;
            return NULL;
        }
        for (size_t i = 0; i < ks->cap; i++) {
            if (!ks->slots[i].object)
                continue;
            size_t j = ks->slots[i].hash & (cap - 1);
            while (slots[j].object)
                j = (j + 1) & (cap - 1);
            slots[j] = ks->slots[i];
        }
        free(ks->slots);
        ks->slots = slots;
        ks->cap = cap;
    }
    uint64_t h = key_hash(object, member->key, member->key_len);
    size_t j = h & (ks->cap - 1);
    while (ks->slots[j].object) {
        const key_slot *s = &ks->slots[j];
        if (s->hash == h && s->object == object && s->member->key_len == member->key_len &&
            memcmp(s->member->key, member->key, member->key_len) == 0)
            return s->member;
        j = (j + 1) & (ks->cap - 1);
    }
    ks->slots[j] = (key_slot){object, member, h};
    ks->count++;
    return NULL;
}

/* ---------------------------------------------------------------- parser */

typedef struct {
    const unsigned char *s, *begin, *end;
    int line, col;
    vkr_json_doc *doc;
    vkr_json_error_fn on_error;
    void *user;
    int max_depth;
    vkr_json **stack; /* open containers, innermost last */
    int depth;
    /* The member name just read in the innermost object, waiting for its value. */
    const char *pending_key;
    size_t pending_key_len;
    int pending_key_line, pending_key_col;
    char *scratch; /* string decoding buffer */
    size_t scratch_len, scratch_cap;
    key_set keys;
    bool oom;
} parser;

static void adv(parser *p)
{
    unsigned c = *p->s++;
    if (c == '\n') {
        p->line++;
        p->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        p->col++;
    }
}

static void skip_ws(parser *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        adv(p);
}

/* The pointer of the place the parser is at: open containers plus the pending
 * member name (objects) or the next index (arrays, when `next_index`). */
static void current_pointer(const parser *p, vkr_jptr *ptr, bool next_index)
{
    for (int i = 0; i < p->depth; i++) {
        const vkr_json *c = p->stack[i];
        if (i + 1 < p->depth) {
            const vkr_json *child = c->last;
            if (c->type == VKR_JSON_OBJECT)
                vkr_jptr_push_key(ptr, child->key, child->key_len);
            else
                vkr_jptr_push_index(ptr, c->n_children - 1);
        } else if (c->type == VKR_JSON_OBJECT && p->pending_key) {
            vkr_jptr_push_key(ptr, p->pending_key, p->pending_key_len);
        } else if (c->type == VKR_JSON_ARRAY && next_index) {
            vkr_jptr_push_index(ptr, c->n_children);
        }
    }
}

static void report_at(parser *p, int line, int col, bool next_index, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void report_at(parser *p, int line, int col, bool next_index, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vkr_jptr ptr = {0};
    current_pointer(p, &ptr, next_index);
    if (ptr.oom)
        p->oom = true;
    p->on_error(p->user, vkr_jptr_str(&ptr), line, col, msg);
    vkr_jptr_free(&ptr);
}

/* Describes the character at the current position for "found ..." messages. */
static const char *describe_here(const parser *p, char *buf, size_t size)
{
    if (p->s >= p->end)
        return "end of file";
    unsigned c = *p->s;
    if (c == '\'') {
        snprintf(buf, size, "\"'\"");
    } else if (c >= 0x20 && c < 0x7F) {
        snprintf(buf, size, "'%c'", (char)c);
    } else if (c < 0x80) {
        snprintf(buf, size, "character U+%04X", c);
    } else {
        size_t bad;
        size_t n = utf8_seq(p->s, p->end, &bad);
        if (n)
            snprintf(buf, size, "'%.*s'", (int)n, (const char *)p->s);
        else
            snprintf(buf, size, "byte 0x%02X", c);
    }
    return buf;
}

static vkr_json *new_node(parser *p, vkr_json_type type, int line, int col)
{
    vkr_json *n = arena_alloc(&p->doc->arena, sizeof *n);
    if (!n) {
        p->oom = true;
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->type = type;
    n->line = line;
    n->col = col;
    return n;
}

/* Links a new value into the innermost container (or makes it the root). */
static void attach(parser *p, vkr_json *n, int key_line, int key_col)
{
    if (p->depth == 0) {
        p->doc->root = n;
        return;
    }
    vkr_json *c = p->stack[p->depth - 1];
    if (c->type == VKR_JSON_OBJECT) {
        n->key = p->pending_key;
        n->key_len = p->pending_key_len;
        n->key_line = key_line;
        n->key_col = key_col;
        const vkr_json *first = key_set_insert(&p->keys, c, n, &p->oom);
        if (first) {
            char name[96];
            n->duplicate = true;
            report_at(p, key_line, key_col, false,
                      "duplicate key \"%s\" in this object (first defined at line %d, column %d)",
                      vkr_json_snippet(name, sizeof name, n->key, n->key_len, 64), first->key_line,
                      first->key_col);
        }
        p->pending_key = NULL;
        p->pending_key_len = 0;
    }
    if (c->last)
        c->last->next = n;
    else
        c->first = n;
    c->last = n;
    c->n_children++;
}

static bool scratch_put(parser *p, const void *data, size_t n)
{
    if (p->scratch_len + n > p->scratch_cap) {
        size_t cap = p->scratch_cap ? p->scratch_cap : 256;
        while (cap < p->scratch_len + n)
            cap *= 2;
        char *b = realloc(p->scratch, cap);
        if (!b) {
            p->oom = true;
            return false;
        }
        p->scratch = b;
        p->scratch_cap = cap;
    }
    memcpy(p->scratch + p->scratch_len, data, n);
    p->scratch_len += n;
    return true;
}

static int hex4(const unsigned char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Reads a \uXXXX escape at p->s (pointing at the backslash). Returns the code
 * point, or -1 after reporting. Pairs surrogates. */
static long read_u_escape(parser *p)
{
    int line = p->line, col = p->col;
    if (p->end - p->s < 6 || hex4(p->s + 2) < 0) {
        report_at(p, line, col, true, "invalid \\u escape: expected 4 hexadecimal digits");
        return -1;
    }
    long cp = hex4(p->s + 2);
    for (int i = 0; i < 6; i++)
        adv(p);
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        report_at(p, line, col, true, "invalid \\u escape: unpaired low surrogate \\u%04lX", cp);
        return -1;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        int lo = (p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') ? hex4(p->s + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) {
            report_at(p, line, col, true,
                      "invalid \\u escape: high surrogate \\u%04lX is not followed by a low "
                      "surrogate",
                      cp);
            return -1;
        }
        for (int i = 0; i < 6; i++)
            adv(p);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) {
        report_at(p, line, col, true, "\\u0000 is not allowed in strings");
        return -1;
    }
    return cp;
}

/* Reads a string starting at the opening quote into a NUL-terminated arena copy.
 * Returns false after reporting (or on out-of-memory). */
static bool read_string(parser *p, const char **out, size_t *out_len)
{
    int start_line = p->line, start_col = p->col;
    p->scratch_len = 0;
    adv(p); /* opening quote */
    for (;;) {
        if (p->s >= p->end) {
            report_at(p, start_line, start_col, true,
                      "unterminated string: expected a closing '\"', found end of file");
            return false;
        }
        unsigned c = *p->s;
        if (c == '"') {
            adv(p);
            break;
        }
        if (c < 0x20) {
            report_at(p, p->line, p->col, true,
                      "control character U+%04X in a string must be escaped", c);
            return false;
        }
        if (c == '\\') {
            if (p->end - p->s < 2) {
                report_at(p, start_line, start_col, true,
                          "unterminated string: expected a closing '\"', found end of file");
                return false;
            }
            unsigned e = p->s[1];
            char ch;
            switch (e) {
            case '"': ch = '"'; break;
            case '\\': ch = '\\'; break;
            case '/': ch = '/'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': {
                long cp = read_u_escape(p);
                if (cp < 0)
                    return false;
                unsigned char u[4];
                size_t n;
                if (cp < 0x80) {
                    u[0] = (unsigned char)cp;
                    n = 1;
                } else if (cp < 0x800) {
                    u[0] = (unsigned char)(0xC0 | (cp >> 6));
                    u[1] = (unsigned char)(0x80 | (cp & 0x3F));
                    n = 2;
                } else if (cp < 0x10000) {
                    u[0] = (unsigned char)(0xE0 | (cp >> 12));
                    u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                    u[2] = (unsigned char)(0x80 | (cp & 0x3F));
                    n = 3;
                } else {
                    u[0] = (unsigned char)(0xF0 | (cp >> 18));
                    u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                    u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
                    n = 4;
                }
                if (!scratch_put(p, u, n))
                    return false;
                continue;
            }
            default: {
                char found[32];
                adv(p);
                report_at(p, p->line, p->col - 1, true,
                          "invalid escape: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t "
                          "\\uXXXX, found \\ followed by %s",
                          describe_here(p, found, sizeof found));
                return false;
            }
            }
            if (!scratch_put(p, &ch, 1))
                return false;
            adv(p);
            adv(p);
            continue;
        }
        if (c < 0x80) {
            if (!scratch_put(p, p->s, 1))
                return false;
            adv(p);
            continue;
        }
        size_t bad = 0;
        size_t n = utf8_seq(p->s, p->end, &bad);
        if (!n) {
            for (size_t i = 0; i < bad; i++)
                adv(p);
            if (p->s >= p->end) {
                report_at(p, p->line, p->col, true,
                          "invalid UTF-8: sequence cut off by the end of the file (byte offset "
                          "%zu)",
                          (size_t)(p->s - p->begin));
            } else if (bad == 0) {
                report_at(p, p->line, p->col, true, "invalid UTF-8 byte 0x%02X at byte offset %zu",
                          *p->s, (size_t)(p->s - p->begin));
            } else {
                report_at(p, p->line, p->col, true,
                          "invalid UTF-8: byte 0x%02X at byte offset %zu cannot follow 0x%02X "
                          "(truncated sequence, overlong form or surrogate)",
                          *p->s, (size_t)(p->s - p->begin), p->s[-(ptrdiff_t)bad]);
            }
            return false;
        }
        if (!scratch_put(p, p->s, n))
            return false;
        for (size_t i = 0; i < n; i++)
            adv(p);
    }
    char *copy = arena_alloc(&p->doc->arena, p->scratch_len + 1);
    if (!copy) {
        p->oom = true;
        return false;
    }
    if (p->scratch_len)
        memcpy(copy, p->scratch, p->scratch_len);
    copy[p->scratch_len] = 0;
    *out = copy;
    *out_len = p->scratch_len;
    return true;
}

static bool is_digit(const parser *p, const unsigned char *s) { return s < p->end && *s >= '0' && *s <= '9'; }

/* Reads a number (RFC 8259 grammar) into n. Returns false after a syntax error. */
static bool read_number(parser *p, vkr_json *n)
{
    const unsigned char *s = p->s, *start = p->s;
    char found[32];
    if (*s == '-')
        s++;
    if (!is_digit(p, s)) {
        while (p->s < s)
            adv(p);
        if (p->s < p->end && (*p->s == 'I' || *p->s == 'i' || *p->s == 'N'))
            report_at(p, p->line, p->col, true,
                      "expected a digit after '-', found %s (JSON has no Infinity or NaN: "
                      "numbers must be finite)",
                      describe_here(p, found, sizeof found));
        else
            report_at(p, p->line, p->col, true, "expected a digit after '-', found %s",
                      describe_here(p, found, sizeof found));
        return false;
    }
    if (*s == '0' && is_digit(p, s + 1)) {
        report_at(p, n->line, n->col, true, "numbers must not have leading zeros");
        return false;
    }
    while (is_digit(p, s))
        s++;
    if (s < p->end && *s == '.') {
        s++;
        if (!is_digit(p, s)) {
            while (p->s < s)
                adv(p);
            report_at(p, p->line, p->col, true, "expected a digit after '.', found %s",
                      describe_here(p, found, sizeof found));
            return false;
        }
        while (is_digit(p, s))
            s++;
    }
    if (s < p->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < p->end && (*s == '+' || *s == '-'))
            s++;
        if (!is_digit(p, s)) {
            while (p->s < s)
                adv(p);
            report_at(p, p->line, p->col, true, "expected a digit in the exponent, found %s",
                      describe_here(p, found, sizeof found));
            return false;
        }
        while (is_digit(p, s))
            s++;
    }
    size_t len = (size_t)(s - start);
    n->num_text = (const char *)start;
    n->num_len = len;
    /* strtod needs a NUL-terminated copy; the input need not be terminated. */
    p->scratch_len = 0;
    if (!scratch_put(p, start, len) || !scratch_put(p, "", 1))
        return false;
    errno = 0;
    n->number = strtod(p->scratch, NULL);
    while (p->s < s)
        adv(p);
    if (!isfinite(n->number)) {
        char text[64];
        vkr_json_snippet(text, sizeof text, (const char *)start, len, 40);
        report_at(p, n->line, n->col, true,
                  "number %s is out of range (beyond the largest double, about 1.8e308)", text);
        n->reported = true;
        n->number = 0;
    }
    return true;
}

/* Reads true/false/null at the current position; reports anything else. */
static bool read_literal(parser *p, vkr_json *n)
{
    static const struct {
        const char *word;
        vkr_json_type type;
    } lits[] = {{"true", VKR_JSON_TRUE}, {"false", VKR_JSON_FALSE}, {"null", VKR_JSON_NULL}};
    for (size_t i = 0; i < 3; i++) {
        size_t wl = strlen(lits[i].word);
        if ((size_t)(p->end - p->s) >= wl && memcmp(p->s, lits[i].word, wl) == 0) {
            n->type = lits[i].type;
            for (size_t k = 0; k < wl; k++)
                adv(p);
            return true;
        }
    }
    /* Name the bare word, if it is one, so "NaN" or "yes" read naturally. */
    size_t wl = 0;
    while (p->s + wl < p->end && wl < 24 &&
           ((p->s[wl] >= 'a' && p->s[wl] <= 'z') || (p->s[wl] >= 'A' && p->s[wl] <= 'Z') ||
            p->s[wl] == '_'))
        wl++;
    if (wl > 0) {
        bool nonfinite = (wl == 3 && memcmp(p->s, "NaN", 3) == 0) ||
                         (wl == 8 && memcmp(p->s, "Infinity", 8) == 0);
        report_at(p, p->line, p->col, true, "expected a JSON value, found '%.*s'%s", (int)wl,
                  (const char *)p->s,
                  nonfinite ? " (JSON has no NaN or Infinity: numbers must be finite)"
                            : " (strings must be in double quotes)");
    } else {
        char found[32];
        report_at(p, p->line, p->col, true, "expected a JSON value, found %s",
                  describe_here(p, found, sizeof found));
    }
    return false;
}

int vkr_json_parse(const char *text, size_t len, int max_depth, vkr_json_doc *doc,
                   vkr_json_error_fn on_error, void *user)
{
    parser p = {0};
    char found[32];
    int rc = 1;
    doc->root = NULL;
    doc->arena = NULL;
    p.begin = p.s = (const unsigned char *)text;
    p.end = p.s + len;
    p.line = p.col = 1;
    p.doc = doc;
    p.on_error = on_error;
    p.user = user;
    p.max_depth = max_depth < 1 ? 1 : max_depth;
    p.stack = calloc((size_t)p.max_depth, sizeof *p.stack);
    if (!p.stack)
        return -1;

    /* A UTF-8 byte order mark is tolerated (RFC 8259 section 8.1). */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.s += 3;

    skip_ws(&p);
    if (p.s >= p.end) {
        report_at(&p, p.line, p.col, false,
                  len == 0 ? "empty file: expected a JSON object"
                           : "expected a JSON object, found only whitespace");
        goto done;
    }

value:
    /* A value is expected at p.s (whitespace already skipped). */
    skip_ws(&p);
    if (p.s >= p.end) {
        report_at(&p, p.line, p.col, true, "expected a value, found end of file");
        goto done;
    }
    {
        int key_line = p.pending_key_line, key_col = p.pending_key_col;
        unsigned c = *p.s;
        vkr_json *n = new_node(&p, VKR_JSON_NULL, p.line, p.col);
        if (!n)
            goto done;
        if (c == '{' || c == '[') {
            if (p.depth >= p.max_depth) {
                report_at(&p, p.line, p.col, true,
                          "nesting is deeper than %d levels of objects and arrays", p.max_depth);
                goto done;
            }
            n->type = c == '{' ? VKR_JSON_OBJECT : VKR_JSON_ARRAY;
            attach(&p, n, key_line, key_col);
            p.stack[p.depth++] = n;
            adv(&p);
            skip_ws(&p);
            if (p.s < p.end && *p.s == (c == '{' ? '}' : ']')) {
                adv(&p);
                p.depth--;
                goto after_value;
            }
            if (c == '{')
                goto key;
            goto value;
        }
        if (c == '"') {
            n->type = VKR_JSON_STRING;
            if (!read_string(&p, &n->str, &n->str_len))
                goto done;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            n->type = VKR_JSON_NUMBER;
            if (!read_number(&p, n))
                goto done;
        } else if (!read_literal(&p, n)) {
            goto done;
        }
        attach(&p, n, key_line, key_col);
    }

after_value:
    skip_ws(&p);
    if (p.depth == 0) {
        if (p.s < p.end) {
            report_at(&p, p.line, p.col, false,
                      "expected end of file after the top-level value, found %s",
                      describe_here(&p, found, sizeof found));
            goto done;
        }
        rc = 0;
        goto done;
    }
    {
        vkr_json *c = p.stack[p.depth - 1];
        char close = c->type == VKR_JSON_OBJECT ? '}' : ']';
        if (p.s < p.end && *p.s == ',') {
            int comma_line = p.line, comma_col = p.col;
            adv(&p);
            skip_ws(&p);
            if (p.s < p.end && *p.s == close) {
                report_at(&p, comma_line, comma_col, false,
                          "trailing comma: expected another %s after ',', found '%c'",
                          c->type == VKR_JSON_OBJECT ? "member" : "element", close);
                goto done;
            }
            if (c->type == VKR_JSON_OBJECT)
                goto key;
            goto value;
        }
        if (p.s < p.end && *p.s == close) {
            adv(&p);
            p.depth--;
            goto after_value;
        }
        report_at(&p, p.line, p.col, false, "expected ',' or '%c' after %s, found %s", close,
                  c->type == VKR_JSON_OBJECT ? "an object member" : "an array element",
                  describe_here(&p, found, sizeof found));
        goto done;
    }

key:
    /* Inside an object, after '{' or ',' (whitespace skipped): a member name. */
    {
        if (p.s >= p.end || *p.s != '"') {
            report_at(&p, p.line, p.col, false, "expected a member name in double quotes, found %s",
                      describe_here(&p, found, sizeof found));
            goto done;
        }
        int key_line = p.line, key_col = p.col;
        const char *key;
        size_t key_len;
        if (!read_string(&p, &key, &key_len))
            goto done;
        p.pending_key = key;
        p.pending_key_len = key_len;
        p.pending_key_line = key_line;
        p.pending_key_col = key_col;
        skip_ws(&p);
        if (p.s >= p.end || *p.s != ':') {
            report_at(&p, p.line, p.col, false, "expected ':' after the member name, found %s",
                      describe_here(&p, found, sizeof found));
            goto done;
        }
        adv(&p);
        goto value;
    }

done:
    free(p.stack);
    free(p.scratch);
    free(p.keys.slots);
    if (p.oom)
        rc = -1;
    if (rc != 0)
        doc->root = NULL;
    return rc;
}

const vkr_json *vkr_json_get(const vkr_json *object, const char *key)
{
    if (!object || object->type != VKR_JSON_OBJECT)
        return NULL;
    size_t len = strlen(key);
    for (const vkr_json *m = object->first; m; m = m->next)
        if (!m->duplicate && m->key_len == len && memcmp(m->key, key, len) == 0)
            return m;
    return NULL;
}
