/* Atomic output: write under a temporary name in the target directory, flush,
 * then rename over the target. On failure the target is untouched and the
 * temporary file is removed, so a half-written file never replaces a good one.
 *
 *   vkr_atomic out;
 *   if ((rc = vkr_atomic_begin(&out, "clip.mp4"))) return rc;
 *   ... write to out.tmp_path (by name, or through out.fd) ...
 *   rc = ok ? vkr_atomic_commit(&out) : (vkr_atomic_abort(&out), rc);
 */
#ifndef VKR_ATOMIC_FILE_H
#define VKR_ATOMIC_FILE_H

#include <stddef.h>

typedef struct {
    char *final_path; /* the path the caller asked for */
    char *tmp_path;   /* ".<name>.XXXXXX.tmp" in the same directory (same filesystem) */
    int fd;           /* open for writing, or -1 once closed */
} vkr_atomic;

/* Creates the temporary file (mode 0644 minus umask). Creates no directories:
 * a missing directory is VKR_E_CANTCREATE. */
int vkr_atomic_begin(vkr_atomic *a, const char *final_path);

/* Closes fd if still open, fsyncs the data, renames onto final_path, fsyncs the
 * directory. Frees the names. On failure the temporary file is removed. */
int vkr_atomic_commit(vkr_atomic *a);

/* Closes and removes the temporary file; frees the names. Safe to call twice. */
void vkr_atomic_abort(vkr_atomic *a);

/* Convenience: atomically replace `path` with `len` bytes of `data`. */
int vkr_write_file_atomic(const char *path, const void *data, size_t len);

/* Reads a whole file (NUL-terminated for convenience; *len excludes the NUL).
 * VKR_E_NOINPUT if it cannot be opened, VKR_E_DATA if larger than max_len. */
int vkr_read_file(const char *path, size_t max_len, char **data, size_t *len);

#endif
