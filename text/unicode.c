/* UTF-8 and Unicode helpers for the tokenizers; see unicode.h. */
#include "text/unicode.h"

#include <stdlib.h>
#include <string.h>

#include "common/status.h"

int vkr_u32buf_push(vkr_u32buf *b, uint32_t cp)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        uint32_t *p = realloc(b->cp, cap * sizeof(*p));
        if (!p)
            return vkr_fail(VKR_E_INTERNAL, "out of memory (%zu code points)", cap);
        b->cp = p;
        b->cap = cap;
    }
    b->cp[b->n++] = cp;
    return 0;
}

void vkr_u32buf_free(vkr_u32buf *b)
{
    free(b->cp);
    memset(b, 0, sizeof(*b));
}

int vkr_utf8_decode(const char *str, size_t len, vkr_u32buf *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        uint32_t c = s[i], cp, min;
        int n;
        if (c < 0x80) {
            cp = c, n = 0, min = 0;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F, n = 1, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F, n = 2, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07, n = 3, min = 0x10000;
        } else {
            return vkr_fail(VKR_E_DATA, "invalid UTF-8 lead byte 0x%02X at offset %zu", c, i);
        }
        if (i + n >= len + (n == 0))
            return vkr_fail(VKR_E_DATA, "truncated UTF-8 sequence at offset %zu", i);
        for (int k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return vkr_fail(VKR_E_DATA, "invalid UTF-8 continuation byte at offset %zu", i + k);
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return vkr_fail(VKR_E_DATA, "invalid UTF-8 (overlong, surrogate or > U+10FFFF) at offset %zu", i);
        int rc = vkr_u32buf_push(out, cp);
        if (rc)
            return rc;
        i += (size_t)n + 1;
    }
    return 0;
}

int vkr_utf8_encode(uint32_t cp, char *buf)
{
    unsigned char *b = (unsigned char *)buf;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (unsigned char)(0xF0 | (cp >> 18));
    b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

uint16_t vkr_uc_props(uint32_t cp)
{
    if (cp < 256) /* by far the common case */
        return vkr_uc_props_latin1[cp];
    int lo = 0, hi = vkr_uc_n_prop_runs - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (vkr_uc_prop_runs[mid].start <= cp)
            lo = mid;
        else
            hi = mid - 1;
    }
    return vkr_uc_prop_runs[lo].props;
}

static int lower1(uint32_t cp, uint32_t *to)
{
    int lo = 0, hi = vkr_uc_n_lower1 - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (vkr_uc_lower1[mid].cp == cp) {
            *to = vkr_uc_lower1[mid].to;
            return 1;
        }
        if (vkr_uc_lower1[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* CPython's handle_capital_sigma(): U+03A3 lowers to final sigma U+03C2 when it
 * follows a cased letter and is not followed by one, skipping case-ignorables
 * on both sides. */
static int is_final_sigma(const uint32_t *cps, size_t n, size_t i)
{
    size_t j = i;
    int sig = VKR_UC_SIGMA_OTHER;
    while (j > 0) {
        sig = VKR_UCP_SIGMA(vkr_uc_props(cps[--j]));
        if (sig != VKR_UC_SIGMA_IGNORABLE)
            break;
    }
    if (sig != VKR_UC_SIGMA_CASED)
        return 0;
    for (j = i + 1; j < n; j++) {
        sig = VKR_UCP_SIGMA(vkr_uc_props(cps[j]));
        if (sig != VKR_UC_SIGMA_IGNORABLE)
            return sig != VKR_UC_SIGMA_CASED;
    }
    return 1;
}

int vkr_uc_lower(const uint32_t *cps, size_t n, vkr_u32buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        uint32_t c = cps[i], to;
        if (c < 0x80) {
            rc = vkr_u32buf_push(out, (c >= 'A' && c <= 'Z') ? c + 32 : c);
            continue;
        }
        if (c == 0x3A3) {
            rc = vkr_u32buf_push(out, is_final_sigma(cps, n, i) ? 0x3C2 : 0x3C3);
            continue;
        }
        if (lower1(c, &to)) {
            rc = vkr_u32buf_push(out, to);
            continue;
        }
        int multi = 0;
        for (int k = 0; k < vkr_uc_n_lower3; k++) {
            if (vkr_uc_lower3[k].cp == c) {
                for (int m = 0; m < 3 && vkr_uc_lower3[k].to[m] && !rc; m++)
                    rc = vkr_u32buf_push(out, vkr_uc_lower3[k].to[m]);
                multi = 1;
                break;
            }
        }
        if (!multi)
            rc = vkr_u32buf_push(out, c);
    }
    return rc;
}

/* ---- NFC (UAX #15): full canonical decomposition, canonical ordering, composition ---- */

enum { HANGUL_S = 0xAC00, HANGUL_L = 0x1100, HANGUL_V = 0x1161, HANGUL_T = 0x11A7,
       HANGUL_LCOUNT = 19, HANGUL_VCOUNT = 21, HANGUL_TCOUNT = 28,
       HANGUL_NCOUNT = HANGUL_VCOUNT * HANGUL_TCOUNT, HANGUL_SCOUNT = HANGUL_LCOUNT * HANGUL_NCOUNT };

static int ccc_of(uint32_t cp)
{
    if (cp < 0x300)
        return 0;
    int lo = 0, hi = vkr_uc_n_ccc - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < vkr_uc_ccc[mid].first)
            hi = mid - 1;
        else if (cp > vkr_uc_ccc[mid].last)
            lo = mid + 1;
        else
            return vkr_uc_ccc[mid].ccc;
    }
    return 0;
}

static const vkr_uc_decomp *decomp_of(uint32_t cp)
{
    int lo = 0, hi = vkr_uc_n_decomps - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (vkr_uc_decomps[mid].cp == cp)
            return &vkr_uc_decomps[mid];
        if (vkr_uc_decomps[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static int decompose(uint32_t cp, vkr_u32buf *out, int depth)
{
    if (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_SCOUNT) {
        uint32_t s = cp - HANGUL_S;
        int rc = vkr_u32buf_push(out, HANGUL_L + s / HANGUL_NCOUNT);
        if (!rc)
            rc = vkr_u32buf_push(out, HANGUL_V + (s % HANGUL_NCOUNT) / HANGUL_TCOUNT);
        if (!rc && s % HANGUL_TCOUNT)
            rc = vkr_u32buf_push(out, HANGUL_T + s % HANGUL_TCOUNT);
        return rc;
    }
    const vkr_uc_decomp *d = cp < 0xC0 ? NULL : decomp_of(cp);
    if (!d || depth > 8)
        return vkr_u32buf_push(out, cp);
    int rc = decompose(d->d0, out, depth + 1);
    if (!rc && d->d1)
        rc = decompose(d->d1, out, depth + 1);
    return rc;
}

static uint32_t compose_pair(uint32_t a, uint32_t b)
{
    if (a >= HANGUL_L && a < HANGUL_L + HANGUL_LCOUNT && b >= HANGUL_V && b < HANGUL_V + HANGUL_VCOUNT)
        return HANGUL_S + ((a - HANGUL_L) * HANGUL_VCOUNT + (b - HANGUL_V)) * HANGUL_TCOUNT;
    if (a >= HANGUL_S && a < HANGUL_S + HANGUL_SCOUNT && (a - HANGUL_S) % HANGUL_TCOUNT == 0 &&
        b > HANGUL_T && b < HANGUL_T + HANGUL_TCOUNT)
        return a + (b - HANGUL_T);
    int lo = 0, hi = vkr_uc_n_comps - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const vkr_uc_comp *c = &vkr_uc_comps[mid];
        if (c->first == a && c->second == b)
            return c->composite;
        if (c->first < a || (c->first == a && c->second < b))
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

int vkr_uc_nfc(const uint32_t *cps, size_t n, vkr_u32buf *out)
{
    vkr_u32buf d = {0};
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = decompose(cps[i], &d, 0);
    if (rc)
        goto done;
    /* Canonical ordering: stable insertion sort of each run of non-starters by ccc. */
    for (size_t i = 1; i < d.n; i++) {
        int ci = ccc_of(d.cp[i]);
        if (!ci)
            continue;
        size_t j = i;
        uint32_t c = d.cp[i];
        while (j > 0) {
            int cj = ccc_of(d.cp[j - 1]);
            if (cj <= ci)
                break;
            d.cp[j] = d.cp[j - 1];
            j--;
        }
        d.cp[j] = c;
    }
    /* Canonical composition. `starter` indexes the last starter in the output
     * written so far; a character is blocked from it when an intervening
     * character has ccc 0 or a ccc >= its own. */
    size_t base = out->n, starter = 0;
    int have_starter = 0, last_ccc = 0;
    for (size_t i = 0; i < d.n && !rc; i++) {
        uint32_t c = d.cp[i];
        int cc = ccc_of(c);
        if (have_starter) {
            size_t last = out->n - 1;
            int blocked = last != starter && (last_ccc == 0 || last_ccc >= cc);
            uint32_t comp = blocked ? 0 : compose_pair(out->cp[starter], c);
            if (comp) {
                out->cp[starter] = comp;
                continue;
            }
        }
        rc = vkr_u32buf_push(out, c);
        last_ccc = cc;
        if (cc == 0) {
            starter = out->n - 1;
            have_starter = 1;
        }
    }
    (void)base;
done:
    vkr_u32buf_free(&d);
    return rc;
}
