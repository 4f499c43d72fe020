#include "subtitles.h"

#include "common/atomic_file.h"
#include "common/status.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Growable string; `failed` latches an allocation failure so callers check once. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_append(strbuf *b, const char *p, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_puts(strbuf *b, const char *s) { sb_append(b, s, strlen(s)); }

VKR_PRINTF(2, 3) static void sb_printf(strbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = 1;
        return;
    }
    sb_append(b, tmp, (size_t)n);
}

/* Returns the string (possibly "" for an empty buffer), or NULL after a failure. */
static char *sb_finish(strbuf *b)
{
    if (!b->failed && !b->s)
        sb_append(b, "", 0);
    if (b->failed) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

int64_t vkr_sub_us_to_ms(int64_t us) { return (us + 500) / 1000; }

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

/* Normalised cue text: LF line ends, lines trimmed, no blank lines. */
static char *normalise_text(const char *text)
{
    strbuf b = {0};
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        const char *line = p, *end = p + n;
        p = end;
        if (*p == '\r' && p[1] == '\n')
            p += 2;
        else if (*p)
            p++;
        while (line < end && is_space(*line))
            line++;
        while (end > line && is_space(end[-1]))
            end--;
        if (end == line)
            continue;
        if (b.len)
            sb_append(&b, "\n", 1);
        sb_append(&b, line, (size_t)(end - line));
    }
    return sb_finish(&b);
}

void vkr_sub_cues_free(vkr_sub_cue *cues, int n)
{
    if (!cues)
        return;
    for (int i = 0; i < n; i++)
        free(cues[i].text);
    free(cues);
}

int vkr_sub_cues_prepare(const vkr_tl_subtitle *subs, int n, vkr_sub_cue **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (n < 0 || (n > 0 && !subs))
        return vkr_fail(VKR_E_USAGE, "subtitles: bad cue list");
    if (n == 0)
        return VKR_OK;
    vkr_sub_cue *cues = calloc((size_t)n, sizeof *cues);
    if (!cues)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int m = 0;
    for (int i = 0; i < n; i++) {
        const vkr_tl_subtitle *s = &subs[i];
        if (!s->text || s->start_us < 0 || s->end_us < s->start_us) {
            vkr_sub_cues_free(cues, m);
            return vkr_fail(VKR_E_DATA,
                            "subtitle %d: bad cue (start %" PRId64 " us, end %" PRId64 " us%s)", i,
                            s->start_us, s->end_us, s->text ? "" : ", no text");
        }
        int64_t a = vkr_sub_us_to_ms(s->start_us), b = vkr_sub_us_to_ms(s->end_us);
        if (b <= a)
            continue;
        char *text = normalise_text(s->text);
        if (!text) {
            vkr_sub_cues_free(cues, m);
            return vkr_fail(VKR_E_INTERNAL, "out of memory");
        }
        if (!*text) {
            free(text);
            continue;
        }
        cues[m].start_ms = a;
        cues[m].end_ms = b;
        cues[m].text = text;
        m++;
    }
    *out = cues;
    *n_out = m;
    return VKR_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int vkr_sub_cues_flatten(const vkr_sub_cue *in, int n, vkr_sub_cue **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (n <= 0)
        return VKR_OK;
    int64_t *t = malloc(sizeof *t * 2 * (size_t)n);
    vkr_sub_cue *cues = calloc(2 * (size_t)n, sizeof *cues); /* at most 2n-1 intervals */
    if (!t || !cues) {
        free(t);
        free(cues);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        t[2 * i] = in[i].start_ms;
        t[2 * i + 1] = in[i].end_ms;
    }
    qsort(t, 2 * (size_t)n, sizeof *t, cmp_i64);
    int m = 0;
    for (int k = 0; k + 1 < 2 * n; k++) {
        int64_t a = t[k], b = t[k + 1];
        if (a == b)
            continue;
        strbuf sb = {0};
        for (int i = 0; i < n; i++) {
            if (in[i].start_ms <= a && in[i].end_ms >= b) {
                if (sb.len)
                    sb_append(&sb, "\n", 1);
                sb_puts(&sb, in[i].text);
            }
        }
        if (!sb.s && !sb.failed) /* nothing shown in this interval */
            continue;
        char *text = sb_finish(&sb);
        if (!text) {
            free(t);
            vkr_sub_cues_free(cues, m);
            return vkr_fail(VKR_E_INTERNAL, "out of memory");
        }
        if (m > 0 && cues[m - 1].end_ms == a && strcmp(cues[m - 1].text, text) == 0) {
            cues[m - 1].end_ms = b;
            free(text);
            continue;
        }
        cues[m].start_ms = a;
        cues[m].end_ms = b;
        cues[m].text = text;
        m++;
    }
    free(t);
    *out = cues;
    *n_out = m;
    return VKR_OK;
}

void vkr_sub_format_time(int64_t ms, char sep, char buf[32])
{
    if (ms < 0)
        ms = 0;
    int64_t h = ms / 3600000, mi = ms / 60000 % 60, s = ms / 1000 % 60, f = ms % 1000;
    snprintf(buf, 32, "%02" PRId64 ":%02" PRId64 ":%02" PRId64 "%c%03" PRId64, h, mi, s, sep, f);
}

char *vkr_srt_format(const vkr_sub_cue *cues, int n)
{
    strbuf b = {0};
    for (int i = 0; i < n; i++) {
        char t0[32], t1[32];
        vkr_sub_format_time(cues[i].start_ms, ',', t0);
        vkr_sub_format_time(cues[i].end_ms, ',', t1);
        sb_printf(&b, "%d\n%s --> %s\n", i + 1, t0, t1);
        sb_puts(&b, cues[i].text);
        sb_puts(&b, "\n\n");
    }
    return sb_finish(&b);
}

char *vkr_vtt_format(const vkr_sub_cue *cues, int n)
{
    strbuf b = {0};
    sb_puts(&b, "WEBVTT\n\n");
    for (int i = 0; i < n; i++) {
        char t0[32], t1[32];
        vkr_sub_format_time(cues[i].start_ms, '.', t0);
        vkr_sub_format_time(cues[i].end_ms, '.', t1);
        sb_printf(&b, "%d\n%s --> %s\n", i + 1, t0, t1);
        for (const char *p = cues[i].text; *p; p++) {
            switch (*p) {
            case '&': sb_puts(&b, "&amp;"); break;
            case '<': sb_puts(&b, "&lt;"); break;
            case '>': sb_puts(&b, "&gt;"); break;
            default: sb_append(&b, p, 1);
            }
        }
        sb_puts(&b, "\n\n");
    }
    return sb_finish(&b);
}

char *vkr_ass_escape_text(const char *text)
{
    static const char zwsp[] = "\xE2\x80\x8B";
    strbuf b = {0};
    for (const char *p = text; *p; p++) {
        if (*p == '\r') {
            if (p[1] != '\n')
                sb_puts(&b, "\\N");
        } else if (*p == '\n') {
            sb_puts(&b, "\\N");
        } else if (*p == '\\' && (p[1] == 'n' || p[1] == 'N')) {
            sb_append(&b, p, 1);
            sb_puts(&b, zwsp);
        } else if (*p == '{' && (p[1] == '\\' || p[1] == '\n' || p[1] == '\r')) {
            sb_append(&b, p, 1);
            sb_puts(&b, zwsp);
        } else if ((unsigned char)*p < 0x20) {
            sb_append(&b, " ", 1); /* tabs and other controls: the dialogue line is one line */
        } else {
            sb_append(&b, p, 1);
        }
    }
    return sb_finish(&b);
}

static int write_doc(const char *path, char *doc)
{
    if (!doc)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int rc = vkr_write_file_atomic(path, doc, strlen(doc));
    free(doc);
    return rc;
}

int vkr_srt_write(const char *path, const vkr_sub_cue *cues, int n)
{
    return write_doc(path, vkr_srt_format(cues, n));
}

int vkr_vtt_write(const char *path, const vkr_sub_cue *cues, int n)
{
    return write_doc(path, vkr_vtt_format(cues, n));
}
