/* A small built-in bitmap font for burnt-in text (the test card's shot id, frame
 * number and timecode). Each glyph is 5x7 pixels on a 5x9 cell: rows 0..6 hold
 * capitals, digits and ascenders, rows 7..8 hold descenders (g j p q y _).
 * Text is drawn scaled up by an integer factor so it stays legible after
 * H.264 compression. Covers digits, A-Z, a-z, ':' '.' '_' '-' '/' and space;
 * any other byte is drawn as a hollow box so it is visibly "unknown". */
#ifndef VKR_FONT_H
#define VKR_FONT_H

#include <stdint.h>

#define VKR_FONT_GLYPH_W 5 /* glyph width in font pixels */
#define VKR_FONT_GLYPH_H 9 /* cell height in font pixels, descenders included */
#define VKR_FONT_ADVANCE 6 /* horizontal advance: glyph + 1 column of spacing */
#define VKR_FONT_LINE 11   /* line pitch: cell + 2 rows of spacing */

/* 1 if the font has a glyph for byte c (others draw as a box). */
int vkr_font_has_glyph(int c);

/* 1 if font pixel (x, y) of character c is set; 0 outside the 5x9 cell. */
int vkr_font_pixel(int c, int x, int y);

/* Width in output pixels of `s` drawn at `scale` (no trailing spacing column). */
int vkr_font_text_width(const char *s, int scale);

/* Draws `s` with its top-left corner at (x, y), each font pixel a scale x scale
 * block of colour rgb. Clipped to the width x height image of packed RGB bytes;
 * only set pixels are written (the background shows through). */
void vkr_font_draw(uint8_t *image, int stride, int width, int height, int x, int y, const char *s,
                   int scale, const uint8_t rgb[3]);

#endif
