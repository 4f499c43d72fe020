/* Storyboard v1: validation and resolution of a board.json (docs/storyboard.md).
 *
 * The text is read by the position-keeping JSON reader (json_dom.c); this file
 * walks the resulting tree once, checking every field against the format and
 * collecting every problem as a located diagnostic, then checks the rules that
 * span fields (unique ids, shot references, transitions, timeline bounds). Only
 * when nothing is wrong does the caller get a storyboard, with every default
 * filled in and every seed and cue time resolved. */
#include "storyboard.h"

#include "common/atomic_file.h"
#include "common/status.h"
#include "json_dom.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_STRING_BYTES VKR_STORYBOARD_MAX_STRING
#define MAX_SHOTS VKR_STORYBOARD_MAX_SHOTS
#define MAX_CUES VKR_STORYBOARD_MAX_CUES
#define MAX_SUBTITLES VKR_STORYBOARD_MAX_SUBTITLES
#define MAX_CUE_SECONDS 30.0
#define MIN_SECONDS 0.001 /* shots and cues: 1 ms, so no duration rounds to 0 us in the timeline */
#define MAX_ID_BYTES 64
#define MAX_SEED 9007199254740991.0 /* 2^53 - 1: every seed is exact as a JSON number */
#define DIAGS_MAX 1000              /* beyond this, problems are only counted */
/* Times are compared at the timeline's microsecond precision, so that a sum
 * like 1000 x 0.6 s is not rejected for a rounding error of 1e-13 s. */
#define TIME_EPS 5e-7

/* ---------------------------------------------------------------- diagnostics */

typedef struct {
    vkr_diags *diags;
    vkr_jptr ptr; /* pointer of the value being checked */
    bool oom;
} vctx;

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void diag_add(vkr_diags *d, bool *oom, const char *pointer, int line, int col,
                     const char *msg)
{
    if (d->n >= DIAGS_MAX) {
        d->dropped++;
        return;
    }
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 16;
        vkr_diag *items = realloc(d->items, (size_t)cap * sizeof *items);
        if (!items) {
            *oom = true;
            return;
        }
        d->items = items;
        d->cap = cap;
    }
    vkr_diag *g = &d->items[d->n];
    g->line = line;
    g->col = col;
    g->pointer = dup_str(pointer);
    g->message = dup_str(msg);
    if (!g->pointer || !g->message) {
        free(g->pointer);
        free(g->message);
        *oom = true;
        return;
    }
    d->n++;
}

static void diag_at(vctx *v, int line, int col, const char *fmt, ...) VKR_PRINTF(4, 5);
static void diag_at(vctx *v, int line, int col, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (v->ptr.oom)
        v->oom = true;
    diag_add(v->diags, &v->oom, vkr_jptr_str(&v->ptr), line, col, msg);
}

#define diag_node(v, n, ...) diag_at((v), (n)->line, (n)->col, __VA_ARGS__)

static void on_json_error(void *user, const char *pointer, int line, int col, const char *message)
{
    vctx *v = user;
    diag_add(v->diags, &v->oom, pointer, line, col, message);
}

/* How a value reads in "found ..." */
static const char *found(const vkr_json *n, char *buf, size_t size)
{
    char tmp[128];
    switch (n->type) {
    case VKR_JSON_NUMBER:
        return vkr_json_snippet(buf, size, n->num_text, n->num_len, 40);
    case VKR_JSON_STRING:
        snprintf(buf, size, "\"%s\"", vkr_json_snippet(tmp, sizeof tmp, n->str, n->str_len, 48));
        return buf;
    case VKR_JSON_TRUE: return "true";
    case VKR_JSON_FALSE: return "false";
    default: return vkr_json_type_name(n->type);
    }
}

/* Optimal string alignment distance (edits + adjacent transpositions), ASCII
 * case-insensitive; capped inputs keep it O(64 * 64). */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 1000;
    int d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int cost = ca != cb;
            int best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* The candidate closest to `word` if it is plausibly a typo of it, else NULL. */
static const char *did_you_mean(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    int best_d = 1000;
    size_t lw = strlen(word);
    for (size_t i = 0; i < n; i++) {
        int d = edit_distance(word, candidates[i]);
        size_t lc = strlen(candidates[i]);
        int limit = (lw > 4 && lc > 4) ? 2 : 1;
        if (d <= limit && d < (int)(lc > lw ? lc : lw) && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

/* ---------------------------------------------------------------- typed fields */

/* Looks up `key` in object o and pushes its pointer segment; the caller pops
 * with vkr_jptr_pop(&v->ptr, *mark). Reports a missing required member at the
 * object's position. */
static const vkr_json *field(vctx *v, const vkr_json *o, const char *key, bool required,
                             const char *expect, size_t *mark)
{
    *mark = vkr_jptr_push_key(&v->ptr, key, strlen(key));
    const vkr_json *n = vkr_json_get(o, key);
    if (!n && required)
        diag_node(v, o, "missing required key \"%s\" (expected %s)", key, expect);
    if (n && n->reported)
        return NULL; /* already reported by the reader (number out of range) */
    return n;
}

static bool wrong_type(vctx *v, const vkr_json *n, const char *expect)
{
    char buf[160];
    diag_node(v, n, "expected %s, found %s", expect, found(n, buf, sizeof buf));
    return false;
}

/* A number in [lo, hi] (an open end when lo_open / hi_open; hi = INFINITY for none). */
static bool get_number(vctx *v, const vkr_json *o, const char *key, bool required, double lo,
                       bool lo_open, double hi, bool hi_open, double *out)
{
    char expect[96];
    if (isinf(hi))
        snprintf(expect, sizeof expect, "a number %s %g", lo_open ? ">" : ">=", lo);
    else if (!lo_open && !hi_open)
        snprintf(expect, sizeof expect, "a number from %g to %g", lo, hi);
    else
        snprintf(expect, sizeof expect, "a number %s %g and %s %g", lo_open ? ">" : ">=", lo,
                 hi_open ? "<" : "<=", hi);
    size_t mark;
    bool ok = false;
    const vkr_json *n = field(v, o, key, required, expect, &mark);
    if (n) {
        if (n->type != VKR_JSON_NUMBER || (lo_open ? !(n->number > lo) : !(n->number >= lo)) ||
            (hi_open ? !(n->number < hi) : !(n->number <= hi))) {
            wrong_type(v, n, expect);
        } else {
            *out = n->number;
            ok = true;
        }
    }
    vkr_jptr_pop(&v->ptr, mark);
    return ok;
}

/* An integer (a number with no fractional part) in [lo, hi]. */
static bool get_int(vctx *v, const vkr_json *o, const char *key, bool required, double lo,
                    double hi, bool even, double *out)
{
    char expect[96];
    snprintf(expect, sizeof expect, "%s integer from %.0f to %.0f", even ? "an even" : "an", lo,
             hi);
    size_t mark;
    bool ok = false;
    const vkr_json *n = field(v, o, key, required, expect, &mark);
    if (n) {
        double x = n->number;
        if (n->type != VKR_JSON_NUMBER || x != floor(x) || x < lo || x > hi ||
            (even && fmod(x, 2.0) != 0.0)) {
            wrong_type(v, n, expect);
        } else {
            *out = x;
            ok = true;
        }
    }
    vkr_jptr_pop(&v->ptr, mark);
    return ok;
}

static bool get_seed(vctx *v, const vkr_json *o, const char *key, uint64_t *out)
{
    double x;
    if (!get_int(v, o, key, false, 0, MAX_SEED, false, &x))
        return false;
    *out = (uint64_t)x;
    return true;
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/* A string of at most 4096 bytes; `nonempty` rejects "" and all-whitespace. */
static bool get_string(vctx *v, const vkr_json *o, const char *key, bool required, bool nonempty,
                       const char **out)
{
    const char *expect = nonempty ? "a non-empty string" : "a string";
    size_t mark;
    bool ok = false;
    const vkr_json *n = field(v, o, key, required, expect, &mark);
    if (n) {
        if (n->type != VKR_JSON_STRING || (nonempty && is_blank(n->str))) {
            wrong_type(v, n, expect);
        } else if (n->str_len > MAX_STRING_BYTES) {
            diag_node(v, n, "expected a string of at most %d bytes, found one of %zu bytes",
                      MAX_STRING_BYTES, n->str_len);
        } else {
            *out = n->str;
            ok = true;
        }
    }
    vkr_jptr_pop(&v->ptr, mark);
    return ok;
}

/* A string naming one of `names`; *out is its index. */
static bool get_enum(vctx *v, const vkr_json *o, const char *key, bool required,
                     const char *const *names, size_t n_names, int *out)
{
    char expect[128] = "one of";
    for (size_t i = 0; i < n_names; i++) {
        size_t l = strlen(expect);
        snprintf(expect + l, sizeof expect - l, "%s \"%s\"", i ? "," : "", names[i]);
    }
    size_t mark;
    bool ok = false;
    const vkr_json *n = field(v, o, key, required, expect, &mark);
    if (n) {
        if (n->type == VKR_JSON_STRING) {
            for (size_t i = 0; i < n_names; i++) {
                if (strcmp(n->str, names[i]) == 0) {
                    *out = (int)i;
                    ok = true;
                }
            }
        }
        if (!ok) {
            char buf[160];
            const char *hint = n->type == VKR_JSON_STRING ? did_you_mean(n->str, names, n_names)
                                                          : NULL;
            if (hint)
                diag_node(v, n, "expected %s, found %s; did you mean \"%s\"?", expect,
                          found(n, buf, sizeof buf), hint);
            else
                wrong_type(v, n, expect);
        }
    }
    vkr_jptr_pop(&v->ptr, mark);
    return ok;
}

/* Checks that n (at the current pointer) is an object whose member names are
 * all in `keys`; reports each unknown one at its name. */
static bool check_object(vctx *v, const vkr_json *n, const char *what, const char *const *keys,
                         size_t n_keys)
{
    if (n->type != VKR_JSON_OBJECT) {
        char expect[96];
        snprintf(expect, sizeof expect, "an object (%s)", what);
        return wrong_type(v, n, expect);
    }
    for (const vkr_json *m = n->first; m; m = m->next) {
        if (m->duplicate)
            continue; /* reported by the reader */
        bool known = false;
        for (size_t i = 0; i < n_keys && !known; i++)
            known = strcmp(m->key, keys[i]) == 0 && strlen(keys[i]) == m->key_len;
        if (known)
            continue;
        if (v->diags->n >= DIAGS_MAX) {
            v->diags->dropped++; /* skip the hint search: a huge object must stay cheap */
            continue;
        }
        char name[96];
        vkr_json_snippet(name, sizeof name, m->key, m->key_len, 64);
        size_t mark = vkr_jptr_push_key(&v->ptr, m->key, m->key_len);
        const char *hint = m->key_len == strlen(m->key) ? did_you_mean(m->key, keys, n_keys) : NULL;
        if (hint) {
            diag_at(v, m->key_line, m->key_col, "unknown key \"%s\" in %s; did you mean \"%s\"?",
                    name, what, hint);
        } else {
            char list[512] = "";
            for (size_t i = 0; i < n_keys; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", keys[i]);
            }
            diag_at(v, m->key_line, m->key_col, "unknown key \"%s\" in %s (expected one of: %s)",
                    name, what, list);
        }
        vkr_jptr_pop(&v->ptr, mark);
    }
    return true;
}

/* Pushes `key` and returns the member if it is present and an object with only
 * known keys (after reporting otherwise); the caller pops. */
static const vkr_json *sub_object(vctx *v, const vkr_json *o, const char *key, bool required,
                                  const char *what, const char *const *keys, size_t n_keys,
                                  size_t *mark)
{
    char expect[96];
    snprintf(expect, sizeof expect, "an object (%s)", what);
    const vkr_json *n = field(v, o, key, required, expect, mark);
    if (n && !check_object(v, n, what, keys, n_keys))
        return NULL;
    return n;
}

/* An array of at most max_items elements (at least min_items). Reports and
 * returns NULL otherwise; the caller pops. */
static const vkr_json *sub_array(vctx *v, const vkr_json *o, const char *key, bool required,
                                 size_t min_items, size_t max_items, const char *what,
                                 size_t *mark)
{
    char expect[128];
    if (min_items)
        snprintf(expect, sizeof expect, "an array of %zu to %zu %s", min_items, max_items, what);
    else
        snprintf(expect, sizeof expect, "an array of at most %zu %s", max_items, what);
    const vkr_json *n = field(v, o, key, required, expect, mark);
    if (!n)
        return NULL;
    if (n->type != VKR_JSON_ARRAY) {
        wrong_type(v, n, expect);
        return NULL;
    }
    if (n->n_children < min_items || n->n_children > max_items) {
        diag_node(v, n, "expected %s, found %zu", expect, n->n_children);
        return NULL;
    }
    return n;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- seeds */

static uint64_t splitmix64(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

/* Derived from the id, not the position, so reordering shots keeps their seeds;
 * 53 bits so that a derived seed can be written back as an explicit one. */
uint64_t vkr_storyboard_seed(uint64_t board_seed, const char *id)
{
    return splitmix64(board_seed ^ fnv1a64(id)) & ((1ull << 53) - 1);
}

/* ---------------------------------------------------------------- sections */

/* The board's spelling (in the order error messages list them) and the kind each names. */
static const char *const sampler_names[] = {"ddim", "dpmpp_2m", "euler"};
static const vkr_sampler_kind sampler_kinds[] = {VKR_SAMPLER_DDIM, VKR_SAMPLER_DPMPP_2M, VKR_SAMPLER_EULER};

const char *vkr_sampler_name(vkr_sampler_kind k)
{
    for (size_t i = 0; i < N_OF(sampler_kinds); i++)
        if (sampler_kinds[i] == k)
            return sampler_names[i];
    return "unknown";
}

typedef struct {
    vctx v;
    vkr_storyboard *sb;
    bool oom;
} builder;

/* Copies a string into the storyboard; NULL stays NULL. */
static char *keep(builder *b, const char *s)
{
    if (!s)
        return NULL;
    char *d = dup_str(s);
    if (!d)
        b->oom = true;
    return d;
}

/* Fills `out` (already holding the defaults) from an optional sampler object. */
static void read_sampler(vctx *v, const vkr_json *o, const char *key, const char *what,
                         vkr_sampler_cfg *out)
{
    static const char *const keys[] = {"name", "steps", "guidance"};
    size_t mark;
    const vkr_json *s = sub_object(v, o, key, false, what, keys, N_OF(keys), &mark);
    if (s) {
        int name;
        double steps, guidance;
        if (get_enum(v, s, "name", false, sampler_names, N_OF(sampler_names), &name))
            out->name = sampler_kinds[name];
        if (get_int(v, s, "steps", false, 1, 1000, false, &steps))
            out->steps = (int)steps;
        if (get_number(v, s, "guidance", false, 0, false, 50, false, &guidance))
            out->guidance = guidance;
    }
    vkr_jptr_pop(&v->ptr, mark);
}

static bool parse_fps_string(const char *s, int *num, int *den)
{
    long long n = 0, d = 1;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++)
        if (digits < 10)
            n = n * 10 + (*s - '0');
    if (digits == 0 || digits > 9)
        return false;
    if (*s == '/') {
        s++;
        d = 0;
        digits = 0;
        for (; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 10)
                d = d * 10 + (*s - '0');
        if (digits == 0 || digits > 9)
            return false;
    }
    if (*s || d == 0 || n < d || n > 120 * d)
        return false;
    long long a = n, b = d;
    while (b) {
        long long t = a % b;
        a = b;
        b = t;
    }
    *num = (int)(n / a);
    *den = (int)(d / a);
    return true;
}

static void read_output(builder *b, const vkr_json *root)
{
    static const char *const keys[] = {"width", "height", "fps", "sample_rate", "channels", "crf"};
    static const int rates[] = {8000,  11025, 12000, 16000, 22050, 24000,
                                32000, 44100, 48000, 64000, 88200, 96000};
    vctx *v = &b->v;
    vkr_output_cfg *out = &b->sb->output;
    size_t mark, m2;
    const vkr_json *o = sub_object(v, root, "output", false, "output settings", keys, N_OF(keys),
                                   &mark);
    if (o) {
        double x;
        if (get_int(v, o, "width", false, 64, 4096, true, &x))
            out->width = (int)x;
        if (get_int(v, o, "height", false, 64, 4096, true, &x))
            out->height = (int)x;
        const char *expect_fps = "an integer from 1 to 120 or a string \"NUM/DEN\" such as "
                                 "\"30000/1001\" (1 to 120 fps)";
        const vkr_json *f = field(v, o, "fps", false, expect_fps, &m2);
        if (f) {
            if (f->type == VKR_JSON_NUMBER && f->number == floor(f->number) && f->number >= 1 &&
                f->number <= 120) {
                out->fps_num = (int)f->number;
                out->fps_den = 1;
            } else if (f->type != VKR_JSON_STRING ||
                       !parse_fps_string(f->str, &out->fps_num, &out->fps_den)) {
                wrong_type(v, f, expect_fps);
            }
        }
        vkr_jptr_pop(&v->ptr, m2);

        char expect_rate[160] = "one of";
        for (size_t i = 0; i < N_OF(rates); i++) {
            size_t l = strlen(expect_rate);
            snprintf(expect_rate + l, sizeof expect_rate - l, "%s %d", i ? "," : "", rates[i]);
        }
        const vkr_json *r = field(v, o, "sample_rate", false, expect_rate, &m2);
        if (r) {
            bool ok = false;
            for (size_t i = 0; i < N_OF(rates) && r->type == VKR_JSON_NUMBER; i++)
                if (r->number == rates[i])
                    ok = true;
            if (ok)
                out->sample_rate = (int)r->number;
            else
                wrong_type(v, r, expect_rate);
        }
        vkr_jptr_pop(&v->ptr, m2);
        if (get_int(v, o, "channels", false, 1, 2, false, &x))
            out->channels = (int)x;
        if (get_int(v, o, "crf", false, 1, 51, false, &x))
            out->crf = (int)x;
    }
    vkr_jptr_pop(&v->ptr, mark);
}

static bool valid_id(const char *s, size_t len)
{
    if (len < 1 || len > MAX_ID_BYTES)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '_' || c == '.' || c == '-') || c >= 0x80)
            return false;
    }
    return true;
}

static bool get_id(vctx *v, const vkr_json *o, const char **out)
{
    const char *expect = "an id of 1 to 64 characters from A-Z a-z 0-9 _ . -";
    size_t mark;
    bool ok = false;
    const vkr_json *n = field(v, o, "id", true, expect, &mark);
    if (n) {
        if (n->type != VKR_JSON_STRING || !valid_id(n->str, n->str_len)) {
            wrong_type(v, n, expect);
        } else {
            *out = n->str;
            ok = true;
        }
    }
    vkr_jptr_pop(&v->ptr, mark);
    return ok;
}

/* What the cross-field checks need to know about each shot. */
typedef struct {
    const vkr_json *node;
    const char *raw_id;     /* the "id" string as written, even when invalid */
    bool duration_ok;
    bool transition_ok;     /* type and duration read without error */
    const vkr_json *xfade;  /* the transition's "duration" member, or the transition */
} shot_info;

static void read_shot(builder *b, const vkr_json *n, int index, shot_info *info)
{
    static const char *const keys[] = {"id",      "duration",   "prompt",   "negative_prompt",
                                       "seed",    "sampler",    "transition", "ambience",
                                       "subtitle"};
    static const char *const tkeys[] = {"type", "duration"};
    static const char *const akeys[] = {"prompt", "gain_db"};
    static const char *const transitions[] = {"cut", "crossfade"};
    vctx *v = &b->v;
    vkr_shot *shot = &b->sb->shots[index];
    info->node = n;
    shot->sampler = b->sb->sampler;
    shot->duration = NAN;
    shot->ambience_gain_db = -18.0;
    if (!check_object(v, n, "a shot", keys, N_OF(keys)))
        return;
    const vkr_json *raw = vkr_json_get(n, "id");
    if (raw && raw->type == VKR_JSON_STRING)
        info->raw_id = raw->str;
    const char *s = NULL;
    if (get_id(v, n, &s))
        shot->id = keep(b, s);
    if (get_number(v, n, "duration", true, MIN_SECONDS, false, INFINITY, false, &shot->duration))
        info->duration_ok = true;
    s = NULL;
    if (get_string(v, n, "prompt", true, true, &s))
        shot->prompt = keep(b, s);
    s = NULL;
    if (get_string(v, n, "negative_prompt", false, true, &s))
        shot->negative_prompt = keep(b, s);
    if (get_seed(v, n, "seed", &shot->seed))
        shot->seed_explicit = true;
    read_sampler(v, n, "sampler", "a sampler override", &shot->sampler);

    size_t mark;
    const vkr_json *t = sub_object(v, n, "transition", false, "a transition", tkeys, N_OF(tkeys),
                                   &mark);
    shot->transition = VKR_TRANSITION_CUT;
    info->transition_ok = true;
    if (t) {
        int type = 0;
        double d = 0;
        bool type_ok = get_enum(v, t, "type", true, transitions, N_OF(transitions), &type);
        const vkr_json *dn = vkr_json_get(t, "duration");
        bool duration_ok = !dn || get_number(v, t, "duration", false, 0, false, INFINITY, false, &d);
        info->xfade = dn ? dn : t;
        shot->transition = (vkr_transition_kind)type;
        shot->transition_duration = d;
        info->transition_ok = type_ok && duration_ok;
        char buf[64];
        size_t m2;
        if (type_ok && index == 0 && type != VKR_TRANSITION_CUT) {
            m2 = vkr_jptr_push_key(&v->ptr, "type", 4);
            diag_node(v, vkr_json_get(t, "type"),
                      "expected \"cut\": the first shot has no previous shot to cross-fade from, "
                      "found \"%s\"",
                      transitions[type]);
            vkr_jptr_pop(&v->ptr, m2);
            info->transition_ok = false;
        } else if (info->transition_ok) {
            m2 = vkr_jptr_push_key(&v->ptr, "duration", 8);
            if (type == VKR_TRANSITION_CUT && d != 0) {
                diag_node(v, dn, "expected 0 or no duration for a cut, found %s",
                          found(dn, buf, sizeof buf));
                info->transition_ok = false;
            } else if (type == VKR_TRANSITION_CROSSFADE && !(d > 0)) {
                if (dn)
                    diag_node(v, dn, "expected a number > 0 for a crossfade, found %s",
                              found(dn, buf, sizeof buf));
                else
                    diag_node(v, t, "missing required key \"duration\" (a crossfade needs a "
                                    "number > 0 of seconds)");
                info->transition_ok = false;
            }
            vkr_jptr_pop(&v->ptr, m2);
        }
    }
    vkr_jptr_pop(&v->ptr, mark);

    const vkr_json *a = sub_object(v, n, "ambience", false, "an ambience", akeys, N_OF(akeys),
                                   &mark);
    if (a) {
        s = NULL;
        if (get_string(v, a, "prompt", true, true, &s))
            shot->ambience_prompt = keep(b, s);
        get_number(v, a, "gain_db", false, -60, false, 12, false, &shot->ambience_gain_db);
    }
    vkr_jptr_pop(&v->ptr, mark);
    s = NULL;
    if (get_string(v, n, "subtitle", false, true, &s))
        shot->subtitle = keep(b, s);
}

typedef struct {
    const vkr_json *node;
    bool at_ok, duration_ok, shot_ok;
    int shot; /* index of the referenced shot, -1 for absolute */
} cue_info;

static void read_cue(builder *b, const vkr_json *n, int index, cue_info *info)
{
    static const char *const keys[] = {"id",      "at",  "shot", "duration", "prompt",
                                       "gain_db", "pan", "seed"};
    vctx *v = &b->v;
    vkr_cue *cue = &b->sb->cues[index];
    info->node = n;
    info->shot = -1;
    cue->gain_db = -6.0;
    if (!check_object(v, n, "a sound effect cue", keys, N_OF(keys)))
        return;
    const char *s = NULL;
    if (get_id(v, n, &s))
        cue->id = keep(b, s);
    s = NULL;
    info->shot_ok = true;
    size_t mark;
    const vkr_json *sn = field(v, n, "shot", false, "a shot id", &mark);
    if (sn && sn->type != VKR_JSON_STRING) {
        wrong_type(v, sn, "a shot id (a string)");
        info->shot_ok = false;
    } else if (sn) {
        cue->shot = keep(b, sn->str);
    }
    vkr_jptr_pop(&v->ptr, mark);
    /* Relative to a shot a cue may start a little before it (a whoosh into a
     * cut); absolute times are never negative. The timeline bound is checked
     * once every shot is known. */
    info->at_ok = get_number(v, n, "at", true, sn ? -INFINITY : 0, false, INFINITY, false,
                             &cue->at);
    info->duration_ok =
        get_number(v, n, "duration", true, MIN_SECONDS, false, MAX_CUE_SECONDS, false, &cue->duration);
    if (get_string(v, n, "prompt", true, true, &s))
        cue->prompt = keep(b, s);
    get_number(v, n, "gain_db", false, -60, false, 12, false, &cue->gain_db);
    get_number(v, n, "pan", false, -1, false, 1, false, &cue->pan);
    if (get_seed(v, n, "seed", &cue->seed))
        cue->seed_explicit = true;
}

typedef struct {
    const vkr_json *node;
    bool ok; /* start and end valid */
} sub_info;

static void read_subtitle(builder *b, const vkr_json *n, int index, sub_info *info)
{
    bool *times_ok = &info->ok;
    info->node = n;
    static const char *const keys[] = {"start", "end", "text"};
    vctx *v = &b->v;
    vkr_subtitle *sub = &b->sb->subtitles[index];
    *times_ok = false;
    if (!check_object(v, n, "a subtitle", keys, N_OF(keys)))
        return;
    bool s_ok = get_number(v, n, "start", true, 0, false, INFINITY, false, &sub->start);
    bool e_ok = get_number(v, n, "end", true, 0, true, INFINITY, false, &sub->end);
    const char *s = NULL;
    if (get_string(v, n, "text", true, true, &s))
        sub->text = keep(b, s);
    if (s_ok && e_ok && !(sub->end > sub->start)) {
        size_t mark = vkr_jptr_push_key(&v->ptr, "end", 3);
        diag_node(v, vkr_json_get(n, "end"), "expected an end after the start (%g s), found %g",
                  sub->start, sub->end);
        vkr_jptr_pop(&v->ptr, mark);
    } else {
        *times_ok = s_ok && e_ok;
    }
}

/* ---------------------------------------------------------------- cross-field rules */

static void push_elem(vctx *v, const char *array, int index, const char *key, size_t marks[3])
{
    marks[0] = vkr_jptr_push_key(&v->ptr, array, strlen(array));
    vkr_jptr_push_index(&v->ptr, (size_t)index);
    if (key)
        vkr_jptr_push_key(&v->ptr, key, strlen(key));
}

static const vkr_json *member_or(const vkr_json *o, const char *key)
{
    const vkr_json *m = vkr_json_get(o, key);
    return m ? m : o;
}

static void check_ids(builder *b, const shot_info *shots, const cue_info *cues)
{
    vctx *v = &b->v;
    vkr_storyboard *sb = b->sb;
    int total = sb->n_shots + sb->n_cues;
    for (int i = 0; i < total; i++) {
        const char *id = i < sb->n_shots ? sb->shots[i].id : sb->cues[i - sb->n_shots].id;
        if (!id)
            continue;
        for (int j = 0; j < i; j++) {
            const char *other = j < sb->n_shots ? sb->shots[j].id : sb->cues[j - sb->n_shots].id;
            if (!other || strcmp(id, other) != 0)
                continue;
            const vkr_json *node = i < sb->n_shots ? shots[i].node : cues[i - sb->n_shots].node;
            const vkr_json *first = j < sb->n_shots ? shots[j].node : cues[j - sb->n_shots].node;
            first = member_or(first, "id");
            size_t marks[3];
            if (i < sb->n_shots)
                push_elem(v, "shots", i, "id", marks);
            else
                push_elem(v, "sfx", i - sb->n_shots, "id", marks);
            diag_node(v, member_or(node, "id"),
                      "expected an id not used by any other shot or sound effect, found \"%s\" "
                      "(already used at line %d, column %d)",
                      id, first->line, first->col);
            vkr_jptr_pop(&v->ptr, marks[0]);
            break;
        }
    }
}

static void check_cue_refs(builder *b, const shot_info *shots, cue_info *cues)
{
    vctx *v = &b->v;
    vkr_storyboard *sb = b->sb;
    const char **ids = calloc((size_t)sb->n_shots + 1, sizeof *ids);
    size_t n_ids = 0;
    if (!ids) {
        b->oom = true;
        return;
    }
    for (int i = 0; i < sb->n_shots; i++)
        if (sb->shots[i].id)
            ids[n_ids++] = sb->shots[i].id;
    for (int c = 0; c < sb->n_cues; c++) {
        const char *ref = sb->cues[c].shot;
        if (!ref)
            continue;
        bool invalid_target = false;
        for (int i = 0; i < sb->n_shots && cues[c].shot < 0; i++) {
            if (sb->shots[i].id && strcmp(sb->shots[i].id, ref) == 0)
                cues[c].shot = i;
            else if (shots[i].raw_id && strcmp(shots[i].raw_id, ref) == 0)
                invalid_target = true;
        }
        if (cues[c].shot >= 0)
            continue;
        cues[c].shot_ok = false;
        if (invalid_target)
            continue; /* the shot's id is reported already; don't repeat it here */
        char buf[160];
        const vkr_json *sn = vkr_json_get(cues[c].node, "shot");
        const char *hint = did_you_mean(ref, ids, n_ids);
        size_t marks[3];
        push_elem(v, "sfx", c, "shot", marks);
        if (hint)
            diag_node(v, sn, "expected the id of a shot, found %s; did you mean \"%s\"?",
                      found(sn, buf, sizeof buf), hint);
        else
            diag_node(v, sn, "expected the id of a shot, found %s (no shot has this id)",
                      found(sn, buf, sizeof buf));
        vkr_jptr_pop(&v->ptr, marks[0]);
    }
    free(ids);
}

/* Shot timing, transitions, and that every cue and subtitle lies inside the
 * clip. Runs only when every shot duration is valid (else the times are unknown). */
static void check_timeline(builder *b, const vkr_json *shots_node, const shot_info *shots,
                           cue_info *cues, const sub_info *subs)
{
    vctx *v = &b->v;
    vkr_storyboard *sb = b->sb;
    double *start = malloc(((size_t)sb->n_shots + 1) * sizeof *start);
    if (!start) {
        b->oom = true;
        return;
    }
    double t = 0;
    for (int i = 0; i < sb->n_shots; i++) {
        start[i] = t;
        t += sb->shots[i].duration;
    }
    start[sb->n_shots] = t;
    sb->total_duration = t;
    size_t marks[3];
    if (t > VKR_STORYBOARD_MAX_SECONDS + TIME_EPS) {
        marks[0] = vkr_jptr_push_key(&v->ptr, "shots", 5);
        diag_node(v, shots_node,
                  "expected shots lasting at most %g s in total, found %.10g s (the sum of the shot "
                  "durations)",
                  VKR_STORYBOARD_MAX_SECONDS, t);
        vkr_jptr_pop(&v->ptr, marks[0]);
    }

    /* Crossfades: half before the boundary, half after; the halves that fall
     * inside one shot must fit in it together. */
    bool halves_ok = true;
    for (int i = 1; i < sb->n_shots; i++) {
        const vkr_shot *s = &sb->shots[i];
        if (!shots[i].transition_ok || s->transition != VKR_TRANSITION_CROSSFADE)
            continue;
        double half = s->transition_duration / 2;
        const char *where = NULL;
        double room = 0;
        if (half > sb->shots[i - 1].duration + TIME_EPS) {
            where = "the previous shot";
            room = sb->shots[i - 1].duration;
        } else if (half > s->duration + TIME_EPS) {
            where = "this shot";
            room = s->duration;
        }
        if (where) {
            char buf[64];
            push_elem(v, "shots", i, "transition", marks);
            vkr_jptr_push_key(&v->ptr, "duration", 8);
            diag_node(v, shots[i].xfade,
                      "expected a crossfade of at most %g s (half of it, %g s, overlaps %s of "
                      "%g s), found %s",
                      2 * room, half, where, room, found(shots[i].xfade, buf, sizeof buf));
            vkr_jptr_pop(&v->ptr, marks[0]);
            halves_ok = false;
        }
    }
    for (int i = 0; i < sb->n_shots && halves_ok; i++) {
        double in = 0, out = 0;
        if (shots[i].transition_ok && sb->shots[i].transition == VKR_TRANSITION_CROSSFADE)
            in = sb->shots[i].transition_duration / 2;
        if (i + 1 < sb->n_shots && shots[i + 1].transition_ok &&
            sb->shots[i + 1].transition == VKR_TRANSITION_CROSSFADE)
            out = sb->shots[i + 1].transition_duration / 2;
        if (in + out > sb->shots[i].duration + TIME_EPS) {
            push_elem(v, "shots", i, "duration", marks);
            diag_node(v, member_or(shots[i].node, "duration"),
                      "expected a duration of at least %g s to hold the crossfade halves inside "
                      "it (%g s in + %g s out), found %g",
                      in + out, in, out, sb->shots[i].duration);
            vkr_jptr_pop(&v->ptr, marks[0]);
        }
    }

    for (int c = 0; c < sb->n_cues; c++) {
        vkr_cue *cue = &sb->cues[c];
        if (!cues[c].at_ok || !cues[c].duration_ok || !cues[c].shot_ok)
            continue;
        cue->start = cue->at + (cues[c].shot >= 0 ? start[cues[c].shot] : 0);
        if (cue->start < -TIME_EPS || cue->start + cue->duration > t + TIME_EPS) {
            push_elem(v, "sfx", c, "at", marks);
            diag_node(v, member_or(cues[c].node, "at"),
                      "expected the cue to lie inside the clip (0 to %g s), found it from %g s to "
                      "%g s",
                      t, cue->start, cue->start + cue->duration);
            vkr_jptr_pop(&v->ptr, marks[0]);
        } else if (cue->start < 0) {
            cue->start = 0; /* within the tolerance: starts with the clip */
        }
    }
    for (int i = 0; i < sb->n_subtitles; i++) {
        if (subs[i].ok && sb->subtitles[i].end > t + TIME_EPS) {
            push_elem(v, "subtitles", i, "end", marks);
            diag_node(v, member_or(subs[i].node, "end"),
                      "expected a subtitle end at most the clip length (%g s), found %g", t,
                      sb->subtitles[i].end);
            vkr_jptr_pop(&v->ptr, marks[0]);
        }
    }
    free(start);
}

/* ---------------------------------------------------------------- canonical JSON */

static bool put_sampler(cJSON *o, const char *key, const vkr_sampler_cfg *s)
{
    cJSON *c = cJSON_AddObjectToObject(o, key);
    bool ok = c != NULL;
    ok &= cJSON_AddStringToObject(c, "name", vkr_sampler_name(s->name)) != NULL;
    ok &= cJSON_AddNumberToObject(c, "steps", s->steps) != NULL;
    ok &= cJSON_AddNumberToObject(c, "guidance", s->guidance) != NULL;
    return ok;
}

/* Seeds are written as exact integers (cJSON would print large ones as %.15g). */
static bool put_seed(cJSON *o, const char *key, uint64_t seed)
{
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    return cJSON_AddRawToObject(o, key, text) != NULL;
}

static bool put_opt_string(cJSON *o, const char *key, const char *s)
{
    return !s || cJSON_AddStringToObject(o, key, s) != NULL;
}

/* The resolved board: every default written out, seeds explicit, cue times
 * absolute. Keys in a fixed order; it parses back to the same board. */
static char *canonical_json(const vkr_storyboard *sb)
{
    cJSON *r = cJSON_CreateObject();
    bool ok = r != NULL;
    ok &= cJSON_AddNumberToObject(r, "version", sb->version) != NULL;
    ok &= cJSON_AddStringToObject(r, "title", sb->title ? sb->title : "") != NULL;
    cJSON *o = cJSON_AddObjectToObject(r, "output");
    ok &= o != NULL;
    ok &= cJSON_AddNumberToObject(o, "width", sb->output.width) != NULL;
    ok &= cJSON_AddNumberToObject(o, "height", sb->output.height) != NULL;
    if (sb->output.fps_den == 1) {
        ok &= cJSON_AddNumberToObject(o, "fps", sb->output.fps_num) != NULL;
    } else {
        char fps[32];
        snprintf(fps, sizeof fps, "%d/%d", sb->output.fps_num, sb->output.fps_den);
        ok &= cJSON_AddStringToObject(o, "fps", fps) != NULL;
    }
    ok &= cJSON_AddNumberToObject(o, "sample_rate", sb->output.sample_rate) != NULL;
    ok &= cJSON_AddNumberToObject(o, "channels", sb->output.channels) != NULL;
    ok &= cJSON_AddNumberToObject(o, "crf", sb->output.crf) != NULL;
    if (sb->video_model || sb->audio_model) {
        o = cJSON_AddObjectToObject(r, "models");
        ok &= o != NULL;
        ok &= put_opt_string(o, "video", sb->video_model);
        ok &= put_opt_string(o, "audio", sb->audio_model);
    }
    ok &= put_seed(r, "seed", sb->seed);
    if (sb->style_prompt || sb->style_negative_prompt) {
        o = cJSON_AddObjectToObject(r, "style");
        ok &= o != NULL;
        ok &= put_opt_string(o, "prompt", sb->style_prompt);
        ok &= put_opt_string(o, "negative_prompt", sb->style_negative_prompt);
    }
    ok &= put_sampler(r, "sampler", &sb->sampler);
    ok &= put_sampler(r, "audio_sampler", &sb->audio_sampler);
    o = cJSON_AddObjectToObject(r, "loudness");
    ok &= o != NULL;
    ok &= cJSON_AddNumberToObject(o, "integrated_lufs", sb->loudness_lufs) != NULL;
    ok &= cJSON_AddNumberToObject(o, "true_peak_dbtp", sb->true_peak_dbtp) != NULL;

    cJSON *a = cJSON_AddArrayToObject(r, "shots");
    ok &= a != NULL;
    for (int i = 0; i < sb->n_shots && ok; i++) {
        const vkr_shot *s = &sb->shots[i];
        cJSON *e = cJSON_CreateObject();
        ok &= e != NULL && cJSON_AddItemToArray(a, e);
        ok &= cJSON_AddStringToObject(e, "id", s->id) != NULL;
        ok &= cJSON_AddNumberToObject(e, "duration", s->duration) != NULL;
        ok &= cJSON_AddStringToObject(e, "prompt", s->prompt) != NULL;
        ok &= put_opt_string(e, "negative_prompt", s->negative_prompt);
        ok &= put_seed(e, "seed", s->seed);
        ok &= put_sampler(e, "sampler", &s->sampler);
        cJSON *t = cJSON_AddObjectToObject(e, "transition");
        ok &= t != NULL;
        ok &= cJSON_AddStringToObject(t, "type", s->transition == VKR_TRANSITION_CUT
                                                     ? "cut"
                                                     : "crossfade") != NULL;
        ok &= cJSON_AddNumberToObject(t, "duration", s->transition_duration) != NULL;
        if (s->ambience_prompt) {
            t = cJSON_AddObjectToObject(e, "ambience");
            ok &= t != NULL;
            ok &= cJSON_AddStringToObject(t, "prompt", s->ambience_prompt) != NULL;
            ok &= cJSON_AddNumberToObject(t, "gain_db", s->ambience_gain_db) != NULL;
        }
        ok &= put_opt_string(e, "subtitle", s->subtitle);
    }
    a = cJSON_AddArrayToObject(r, "sfx");
    ok &= a != NULL;
    for (int i = 0; i < sb->n_cues && ok; i++) {
        const vkr_cue *c = &sb->cues[i];
        cJSON *e = cJSON_CreateObject();
        ok &= e != NULL && cJSON_AddItemToArray(a, e);
        ok &= cJSON_AddStringToObject(e, "id", c->id) != NULL;
        ok &= cJSON_AddNumberToObject(e, "at", c->start) != NULL;
        ok &= cJSON_AddNumberToObject(e, "duration", c->duration) != NULL;
        ok &= cJSON_AddStringToObject(e, "prompt", c->prompt) != NULL;
        ok &= cJSON_AddNumberToObject(e, "gain_db", c->gain_db) != NULL;
        ok &= cJSON_AddNumberToObject(e, "pan", c->pan) != NULL;
        ok &= put_seed(e, "seed", c->seed);
    }
    if (sb->has_music) {
        o = cJSON_AddObjectToObject(r, "music");
        ok &= o != NULL;
        ok &= cJSON_AddStringToObject(o, "prompt", sb->music_prompt) != NULL;
        ok &= cJSON_AddNumberToObject(o, "gain_db", sb->music_gain_db) != NULL;
        ok &= put_seed(o, "seed", sb->music_seed);
    }
    a = cJSON_AddArrayToObject(r, "subtitles");
    ok &= a != NULL;
    for (int i = 0; i < sb->n_subtitles && ok; i++) {
        const vkr_subtitle *s = &sb->subtitles[i];
        cJSON *e = cJSON_CreateObject();
        ok &= e != NULL && cJSON_AddItemToArray(a, e);
        ok &= cJSON_AddNumberToObject(e, "start", s->start) != NULL;
        ok &= cJSON_AddNumberToObject(e, "end", s->end) != NULL;
        ok &= cJSON_AddStringToObject(e, "text", s->text) != NULL;
    }
    char *out = NULL;
    if (ok) {
        char *text = cJSON_PrintUnformatted(r);
        if (text) {
            out = dup_str(text);
            cJSON_free(text);
        }
    }
    cJSON_Delete(r);
    return out;
}

/* ---------------------------------------------------------------- entry points */

static void sort_diags(vkr_diags *d, int first)
{
    /* Stable insertion sort by position: the list is short (capped) and a
     * stable order keeps related messages at one position together. */
    for (int i = first + 1; i < d->n; i++) {
        vkr_diag x = d->items[i];
        int j = i;
        while (j > first && (d->items[j - 1].line > x.line ||
                             (d->items[j - 1].line == x.line && d->items[j - 1].col > x.col))) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = x;
    }
}

static void set_defaults(vkr_storyboard *sb)
{
    sb->version = VKR_STORYBOARD_VERSION;
    sb->output = (vkr_output_cfg){.width = 1280, .height = 720, .fps_num = 24, .fps_den = 1,
                                  .sample_rate = 48000, .channels = 2, .crf = 18};
    sb->sampler = (vkr_sampler_cfg){VKR_SAMPLER_DDIM, 25, 9.0};
    sb->audio_sampler = (vkr_sampler_cfg){VKR_SAMPLER_DDIM, 25, 2.5};
    sb->loudness_lufs = -16.0;
    sb->true_peak_dbtp = -1.0;
    sb->music_gain_db = -20.0;
}

static void read_board(builder *b, const vkr_json *root, shot_info **shots_out,
                       cue_info **cues_out, sub_info **subs_out)
{
    static const char *const keys[] = {"version", "title",    "output",        "models",
                                       "seed",    "style",    "sampler",       "audio_sampler",
                                       "loudness", "shots",   "sfx",           "music",
                                       "subtitles"};
    static const char *const model_keys[] = {"video", "audio"};
    static const char *const style_keys[] = {"prompt", "negative_prompt"};
    static const char *const loud_keys[] = {"integrated_lufs", "true_peak_dbtp"};
    static const char *const music_keys[] = {"prompt", "gain_db", "seed"};
    vctx *v = &b->v;
    vkr_storyboard *sb = b->sb;
    size_t mark;
    const char *s;
    if (!check_object(v, root, "the storyboard", keys, N_OF(keys)))
        return;

    const vkr_json *ver = field(v, root, "version", true, "1", &mark);
    if (ver && !(ver->type == VKR_JSON_NUMBER && ver->number == VKR_STORYBOARD_VERSION))
        wrong_type(v, ver, "1 (the storyboard format version)");
    vkr_jptr_pop(&v->ptr, mark);
    s = NULL;
    if (get_string(v, root, "title", false, false, &s))
        sb->title = keep(b, s);
    read_output(b, root);

    const vkr_json *o = sub_object(v, root, "models", false, "model directories", model_keys,
                                   N_OF(model_keys), &mark);
    s = NULL;
    if (o && get_string(v, o, "video", false, true, &s))
        sb->video_model = keep(b, s);
    s = NULL;
    if (o && get_string(v, o, "audio", false, true, &s))
        sb->audio_model = keep(b, s);
    vkr_jptr_pop(&v->ptr, mark);

    get_seed(v, root, "seed", &sb->seed);

    o = sub_object(v, root, "style", false, "the style", style_keys, N_OF(style_keys), &mark);
    s = NULL;
    if (o && get_string(v, o, "prompt", false, true, &s))
        sb->style_prompt = keep(b, s);
    s = NULL;
    if (o && get_string(v, o, "negative_prompt", false, true, &s))
        sb->style_negative_prompt = keep(b, s);
    vkr_jptr_pop(&v->ptr, mark);

    read_sampler(v, root, "sampler", "the video sampler", &sb->sampler);
    read_sampler(v, root, "audio_sampler", "the audio sampler", &sb->audio_sampler);

    o = sub_object(v, root, "loudness", false, "the loudness target", loud_keys,
                   N_OF(loud_keys), &mark);
    if (o) {
        get_number(v, o, "integrated_lufs", false, -70, false, -5, false, &sb->loudness_lufs);
        get_number(v, o, "true_peak_dbtp", false, -20, false, 0, false, &sb->true_peak_dbtp);
    }
    vkr_jptr_pop(&v->ptr, mark);

    const vkr_json *arr = sub_array(v, root, "shots", true, 1, MAX_SHOTS, "shots", &mark);
    if (arr) {
        sb->shots = calloc(arr->n_children, sizeof *sb->shots);
        *shots_out = calloc(arr->n_children, sizeof **shots_out);
        if (!sb->shots || !*shots_out) {
            b->oom = true;
        } else {
            sb->n_shots = (int)arr->n_children;
            int i = 0;
            for (const vkr_json *e = arr->first; e; e = e->next, i++) {
                size_t m2 = vkr_jptr_push_index(&v->ptr, (size_t)i);
                read_shot(b, e, i, &(*shots_out)[i]);
                vkr_jptr_pop(&v->ptr, m2);
            }
        }
    }
    vkr_jptr_pop(&v->ptr, mark);

    arr = sub_array(v, root, "sfx", false, 0, MAX_CUES, "sound effect cues", &mark);
    if (arr && arr->n_children) {
        sb->cues = calloc(arr->n_children, sizeof *sb->cues);
        *cues_out = calloc(arr->n_children, sizeof **cues_out);
        if (!sb->cues || !*cues_out) {
            b->oom = true;
        } else {
            sb->n_cues = (int)arr->n_children;
            int i = 0;
            for (const vkr_json *e = arr->first; e; e = e->next, i++) {
                size_t m2 = vkr_jptr_push_index(&v->ptr, (size_t)i);
                read_cue(b, e, i, &(*cues_out)[i]);
                vkr_jptr_pop(&v->ptr, m2);
            }
        }
    }
    vkr_jptr_pop(&v->ptr, mark);

    o = sub_object(v, root, "music", false, "the music bed", music_keys, N_OF(music_keys), &mark);
    if (o) {
        sb->has_music = true;
        s = NULL;
        if (get_string(v, o, "prompt", true, true, &s))
            sb->music_prompt = keep(b, s);
        get_number(v, o, "gain_db", false, -60, false, 12, false, &sb->music_gain_db);
        if (get_seed(v, o, "seed", &sb->music_seed))
            sb->music_seed_explicit = true;
    }
    vkr_jptr_pop(&v->ptr, mark);

    arr = sub_array(v, root, "subtitles", false, 0, MAX_SUBTITLES, "subtitles", &mark);
    if (arr && arr->n_children) {
        sb->subtitles = calloc(arr->n_children, sizeof *sb->subtitles);
        *subs_out = calloc(arr->n_children, sizeof **subs_out);
        if (!sb->subtitles || !*subs_out) {
            b->oom = true;
        } else {
            sb->n_subtitles = (int)arr->n_children;
            int i = 0;
            for (const vkr_json *e = arr->first; e; e = e->next, i++) {
                size_t m2 = vkr_jptr_push_index(&v->ptr, (size_t)i);
                read_subtitle(b, e, i, &(*subs_out)[i]);
                vkr_jptr_pop(&v->ptr, m2);
            }
        }
    }
    vkr_jptr_pop(&v->ptr, mark);
}

/* Seeds not given explicitly come from the board seed and the id. */
static void resolve_seeds(vkr_storyboard *sb)
{
    for (int i = 0; i < sb->n_shots; i++)
        if (!sb->shots[i].seed_explicit)
            sb->shots[i].seed = vkr_storyboard_seed(sb->seed, sb->shots[i].id);
    for (int i = 0; i < sb->n_cues; i++)
        if (!sb->cues[i].seed_explicit)
            sb->cues[i].seed = vkr_storyboard_seed(sb->seed, sb->cues[i].id);
    if (sb->has_music && !sb->music_seed_explicit)
        sb->music_seed = vkr_storyboard_seed(sb->seed, "music");
}

int vkr_storyboard_set_seed(vkr_storyboard *sb, uint64_t seed)
{
    sb->seed = seed;
    resolve_seeds(sb);
    char *json = canonical_json(sb);
    if (!json)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    free(sb->canonical_json);
    sb->canonical_json = json;
    return VKR_OK;
}

int vkr_storyboard_parse(const char *path, const char *text, size_t len, vkr_storyboard *sb,
                         vkr_diags *diags)
{
    memset(sb, 0, sizeof *sb);
    builder b = {.v = {.diags = diags}, .sb = sb};
    vkr_json_doc doc = {0};
    shot_info *shots = NULL;
    cue_info *cues = NULL;
    sub_info *subs = NULL;
    int first_diag = diags->n, first_dropped = diags->dropped;
    int rc = VKR_OK;
    if (!path)
        path = "<storyboard>";

    set_defaults(sb);
    if (len > VKR_STORYBOARD_MAX_BYTES) {
        char msg[128];
        snprintf(msg, sizeof msg, "file is %zu bytes, larger than the %u-byte (4 MiB) limit", len,
                 VKR_STORYBOARD_MAX_BYTES);
        diag_add(diags, &b.oom, "", 0, 0, msg);
        goto finish;
    }
    int jr = vkr_json_parse(text, len, VKR_STORYBOARD_MAX_DEPTH, &doc, on_json_error, &b.v);
    if (jr < 0)
        b.oom = true;
    if (jr != 0)
        goto finish;

    read_board(&b, doc.root, &shots, &cues, &subs);
    check_ids(&b, shots, cues);
    if (sb->n_shots > 0) /* else the shots are unreadable and every reference would fail */
        check_cue_refs(&b, shots, cues);
    bool durations_ok = sb->n_shots > 0;
    for (int i = 0; i < sb->n_shots; i++)
        durations_ok &= shots[i].duration_ok;
    if (durations_ok)
        check_timeline(&b, vkr_json_get(doc.root, "shots"), shots, cues, subs);

finish:
    if (b.oom || b.v.oom || b.v.ptr.oom) {
        rc = vkr_fail(VKR_E_INTERNAL, "%s: out of memory while reading the storyboard", path);
    } else if (diags->n > first_diag || diags->dropped > first_dropped) {
        sort_diags(diags, first_diag);
        int n = diags->n - first_diag + diags->dropped - first_dropped;
        rc = vkr_fail(VKR_E_DATA, "%s: invalid storyboard (%d problem%s)", path, n,
                      n == 1 ? "" : "s");
    } else {
        resolve_seeds(sb);
        if (!sb->title)
            sb->title = keep(&b, "");
        sb->path = keep(&b, path);
        sb->canonical_json = canonical_json(sb);
        if (b.oom || !sb->canonical_json)
            rc = vkr_fail(VKR_E_INTERNAL, "%s: out of memory while reading the storyboard", path);
    }
    if (rc != VKR_OK)
        vkr_storyboard_free(sb);
    free(shots);
    free(cues);
    free(subs);
    vkr_jptr_free(&b.v.ptr);
    vkr_json_free(&doc);
    return rc;
}

int vkr_storyboard_load(const char *path, vkr_storyboard *sb, vkr_diags *diags)
{
    char *text = NULL;
    size_t len = 0;
    memset(sb, 0, sizeof *sb);
    int rc = vkr_read_file(path, VKR_STORYBOARD_MAX_BYTES, &text, &len);
    if (rc == VKR_E_DATA) {
        /* Too large: say so as a diagnostic, like every other problem. */
        struct stat st;
        char msg[128];
        bool oom = false;
        long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
        snprintf(msg, sizeof msg, "file is %lld bytes, larger than the %u-byte (4 MiB) limit", size,
                 VKR_STORYBOARD_MAX_BYTES);
        diag_add(diags, &oom, "", 0, 0, msg);
        return vkr_fail(VKR_E_DATA, "%s: invalid storyboard (file too large)", path);
    }
    if (rc != VKR_OK)
        return rc;
    rc = vkr_storyboard_parse(path, text, len, sb, diags);
    free(text);
    return rc;
}

void vkr_storyboard_free(vkr_storyboard *sb)
{
    for (int i = 0; i < sb->n_shots; i++) {
        vkr_shot *s = &sb->shots[i];
        free(s->id);
        free(s->prompt);
        free(s->negative_prompt);
        free(s->ambience_prompt);
        free(s->subtitle);
    }
    for (int i = 0; i < sb->n_cues; i++) {
        free(sb->cues[i].id);
        free(sb->cues[i].shot);
        free(sb->cues[i].prompt);
    }
    for (int i = 0; i < sb->n_subtitles; i++)
        free(sb->subtitles[i].text);
    free(sb->shots);
    free(sb->cues);
    free(sb->subtitles);
    free(sb->path);
    free(sb->title);
    free(sb->video_model);
    free(sb->audio_model);
    free(sb->style_prompt);
    free(sb->style_negative_prompt);
    free(sb->music_prompt);
    free(sb->canonical_json);
    memset(sb, 0, sizeof *sb);
}

/* "<a>, <b>", or whichever of the two is present ("" when neither). */
static char *join_prompts(const char *a, const char *b)
{
    size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;
    char *out = malloc(la + lb + 3);
    if (!out)
        return NULL;
    size_t o = 0;
    if (a) {
        memcpy(out, a, la);
        o = la;
    }
    if (a && b) {
        memcpy(out + o, ", ", 2);
        o += 2;
    }
    if (b) {
        memcpy(out + o, b, lb);
        o += lb;
    }
    out[o] = 0;
    return out;
}

char *vkr_shot_full_prompt(const vkr_storyboard *sb, const vkr_shot *shot)
{
    return join_prompts(shot->prompt, sb->style_prompt);
}

char *vkr_shot_full_negative_prompt(const vkr_storyboard *sb, const vkr_shot *shot)
{
    return join_prompts(shot->negative_prompt, sb->style_negative_prompt);
}

void vkr_diags_print(const vkr_diags *d, const char *file, FILE *out)
{
    if (!file)
        file = "<storyboard>";
    for (int i = 0; i < d->n; i++) {
        const vkr_diag *g = &d->items[i];
        if (g->line > 0)
            fprintf(out, "%s:%d:%d: ", file, g->line, g->col);
        else
            fprintf(out, "%s: ", file);
        if (g->pointer && g->pointer[0])
            fprintf(out, "%s: ", g->pointer);
        fprintf(out, "%s\n", g->message);
    }
    if (d->dropped > 0)
        fprintf(out, "%s: %d more problem%s not shown\n", file, d->dropped,
                d->dropped == 1 ? "" : "s");
}

void vkr_diags_free(vkr_diags *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->items[i].pointer);
        free(d->items[i].message);
    }
    free(d->items);
    memset(d, 0, sizeof *d);
}
