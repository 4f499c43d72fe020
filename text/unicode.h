/* UTF-8 decoding and the few Unicode operations the tokenizers need, with the
 * exact semantics of the Python 3.11 functions the reference tokenizers call
 * (str.isspace, str.lower, unicodedata.category, unicodedata.normalize("NFC"))
 * and of the `regex` module classes in their split patterns. Tables:
 * text/unicode_tables.c, Unicode 14.0.0. */
#ifndef VKR_UNICODE_H
#define VKR_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "text/unicode_tables.h"

/* A growable array of code points. */
typedef struct {
    uint32_t *cp;
    size_t n, cap;
} vkr_u32buf;

int vkr_u32buf_push(vkr_u32buf *b, uint32_t cp);
void vkr_u32buf_free(vkr_u32buf *b);

/* Decodes `len` bytes of strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF)
 * into `out` (appended). VKR_E_DATA naming the byte offset on invalid input. */
int vkr_utf8_decode(const char *s, size_t len, vkr_u32buf *out);
/* Writes the UTF-8 encoding of cp into buf (4 bytes room); returns its length. */
int vkr_utf8_encode(uint32_t cp, char *buf);

/* Property bits and classes (VKR_UCP_*) of one code point. */
uint16_t vkr_uc_props(uint32_t cp);
static inline int vkr_uc_is_pyspace(uint32_t cp) { return (vkr_uc_props(cp) & VKR_UCP_PYSPACE) != 0; }

/* Python str.lower() of cps[0..n), appended to out (full mapping, Final_Sigma). */
int vkr_uc_lower(const uint32_t *cps, size_t n, vkr_u32buf *out);

/* unicodedata.normalize("NFC", cps[0..n)), appended to out. */
int vkr_uc_nfc(const uint32_t *cps, size_t n, vkr_u32buf *out);

#endif
