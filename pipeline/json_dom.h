/* A strict JSON (RFC 8259) reader that keeps source positions.
 *
 * cJSON, the project's JSON library, gives neither node positions nor duplicate
 * key detection, and it recurses once per nesting level. Storyboard diagnostics
 * need "FILE:LINE:COL: /pointer: message" for every problem, so the storyboard is
 * read with this small iterative parser instead; cJSON is still used to write JSON.
 *
 * Guarantees: never reads outside [text, text + len), never recurses, nesting is
 * limited to `max_depth` containers, strings are valid UTF-8 without U+0000,
 * numbers are finite doubles. Positions are 1-based; columns count Unicode
 * characters (a tab is one column). A syntax error stops the parse; duplicate
 * keys are reported (through the callback) and parsing continues, the first
 * occurrence winning for lookups. */
#ifndef VKR_JSON_DOM_H
#define VKR_JSON_DOM_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    VKR_JSON_NULL,
    VKR_JSON_FALSE,
    VKR_JSON_TRUE,
    VKR_JSON_NUMBER,
    VKR_JSON_STRING,
    VKR_JSON_ARRAY,
    VKR_JSON_OBJECT,
} vkr_json_type;

typedef struct vkr_json vkr_json;
struct vkr_json {
    vkr_json_type type;
    bool duplicate;        /* a later member with an already-used name: ignored by lookups */
    bool reported;         /* a problem with this value was already reported (number range) */
    int line, col;         /* where the value starts */
    int key_line, key_col; /* where the member name starts (inside an object) */
    const char *key;       /* member name (decoded, NUL-terminated) when inside an object */
    size_t key_len;
    double number;         /* VKR_JSON_NUMBER */
    union {
        const char *str;      /* VKR_JSON_STRING: decoded UTF-8, NUL-terminated */
        const char *num_text; /* VKR_JSON_NUMBER: as written (not NUL-terminated) */
    };
    union {
        size_t str_len;
        size_t num_len;
    };
    vkr_json *first; /* children of arrays and objects, in document order */
    vkr_json *last;
    vkr_json *next;
    size_t n_children;
};

typedef struct vkr_json_arena_block vkr_json_arena_block;

typedef struct {
    vkr_json *root;              /* NULL after a syntax error */
    vkr_json_arena_block *arena; /* owns every node and string */
} vkr_json_doc;

/* Receives each problem: a JSON pointer (RFC 6901, "" for the root), the 1-based
 * position and a message. Syntax errors end the parse; duplicate keys do not. */
typedef void (*vkr_json_error_fn)(void *user, const char *pointer, int line, int col,
                                  const char *message);

/* Returns 0 when the text is well-formed JSON (duplicate keys and numbers out of
 * double range are still reported, and marked on their nodes), 1 after a syntax
 * error (reported; root is NULL), -1 when out of memory. doc must be freed with
 * vkr_json_free in every case. */
int vkr_json_parse(const char *text, size_t len, int max_depth, vkr_json_doc *doc,
                   vkr_json_error_fn on_error, void *user);

void vkr_json_free(vkr_json_doc *doc);

/* First (non-duplicate) member named `key`, or NULL. */
const vkr_json *vkr_json_get(const vkr_json *object, const char *key);

/* "null", "a boolean", "a number", "a string", "an array", "an object". */
const char *vkr_json_type_name(vkr_json_type t);

/* Writes a short, printable, single-line rendering of `len` bytes of UTF-8 into
 * out (always NUL-terminated): quotes and backslashes escaped, control characters
 * as \n or \u00XX, cut after about `max_bytes` at a character boundary with "...".
 * Returns out. */
char *vkr_json_snippet(char *out, size_t out_size, const char *s, size_t len, size_t max_bytes);

/* A growable RFC 6901 JSON pointer. The buffer is always NUL-terminated; on
 * allocation failure `oom` is set and the pointer keeps its previous value. */
typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} vkr_jptr;

/* Append "/segment" (escaping ~ as ~0 and / as ~1) or "/index"; return the
 * previous length, to be given back to vkr_jptr_pop. */
size_t vkr_jptr_push_key(vkr_jptr *p, const char *key, size_t key_len);
size_t vkr_jptr_push_index(vkr_jptr *p, size_t index);
void vkr_jptr_pop(vkr_jptr *p, size_t old_len);
const char *vkr_jptr_str(const vkr_jptr *p); /* "" when empty */
void vkr_jptr_free(vkr_jptr *p);

#endif
