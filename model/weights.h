/* One weight source for model loaders, whatever the checkpoint format.
 *
 * A vkr_weights is one checkpoint file (safetensors or torch.save .bin, told
 * apart by content) or several shards merged into one name space. Model
 * loaders fetch each tensor by name with the shape they expect; the fetch
 * fails with a message naming the tensor ("missing tensor 'x'", "tensor 'x'
 * has shape [a, b], expected [c, d]") and marks it used, so that at the end
 * vkr_weights_check_all_used() can report every tensor the loader did not
 * expect. Not thread-safe (the used flags are mutated by fetches). */
#ifndef VKR_WEIGHTS_H
#define VKR_WEIGHTS_H

#include "model/safetensors.h"

#include <stdint.h>

typedef struct vkr_weights vkr_weights;

/* Shape literal for the fetch functions: VKR_SHAPE(320, 4, 3, 3) expands to
 * the two arguments `ndim, dims`. A dimension of -1 matches any size. */
#define VKR_SHAPE(...)                                                                             \
    (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}

/* Opens one file. VKR_E_NOINPUT when it cannot be opened, VKR_E_DATA when it
 * is malformed (see safetensors.h / torch_bin.h). */
int vkr_weights_open(vkr_weights **w, const char *path);
/* Opens n files as one set; a name present in two files is VKR_E_DATA.
 * `what` describes the set in messages (e.g. the index file); may be NULL. */
int vkr_weights_open_files(vkr_weights **w, const char *const *paths, int n, const char *what);
void vkr_weights_close(vkr_weights *w);

/* What messages call this source (the file, or `what` for a set). */
const char *vkr_weights_name(const vkr_weights *w);

/* All tensors, sorted by name: i in [0, vkr_weights_count). */
int vkr_weights_count(const vkr_weights *w);
const vkr_st_tensor *vkr_weights_at(const vkr_weights *w, int i);

/* Lookup that neither checks nor marks: NULL when absent. */
const vkr_st_tensor *vkr_weights_find(const vkr_weights *w, const char *name);

/* Fetches `name`, checks its shape against dims[0..ndim) and marks it used.
 * VKR_E_DATA "missing tensor" / "has shape [...], expected [...]". */
int vkr_weights_get(vkr_weights *w, const char *name, int ndim, const int64_t *dims,
                    const vkr_st_tensor **out);
/* vkr_weights_get + conversion of a floating-point tensor (F32/F16/BF16/F64)
 * to f32 into dst (numel floats). An integer tensor is VKR_E_DATA. */
int vkr_weights_read_f32(vkr_weights *w, const char *name, int ndim, const int64_t *dims,
                         float *dst);
/* The same into a malloc'd buffer (*out; free() it). */
int vkr_weights_load_f32(vkr_weights *w, const char *name, int ndim, const int64_t *dims,
                         float **out);
/* vkr_weights_get + conversion of an integer/bool tensor to int64 (malloc'd). */
int vkr_weights_load_i64(vkr_weights *w, const char *name, int ndim, const int64_t *dims,
                         int64_t **out);

/* Marks `name` as deliberately unused (buffers such as position_ids that the
 * port recomputes). Returns 1 when the tensor exists, 0 otherwise. */
int vkr_weights_skip(vkr_weights *w, const char *name);
/* Marks every tensor whose name starts with `prefix`; returns how many. */
int vkr_weights_skip_prefix(vkr_weights *w, const char *prefix);

/* Number of tensors neither fetched nor skipped; the first `max` names go
 * to names[] (sorted). */
int vkr_weights_unused(const vkr_weights *w, const char **names, int max);
/* VKR_OK when every tensor was fetched or skipped, else VKR_E_DATA naming
 * them: "<file>: 2 unexpected tensors: a.weight, b.bias". */
int vkr_weights_check_all_used(const vkr_weights *w);

#endif
