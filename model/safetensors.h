/* safetensors reader: the file is mmap'd read-only; the JSON header is parsed
 * with cJSON and every entry validated (dtype known, shape non-negative and not
 * overflowing, data_offsets inside the data section, consistent with dtype x
 * shape, no overlaps), so a corrupt or hostile file gives a clear error naming
 * the tensor instead of an out-of-bounds read. */
#ifndef VKR_SAFETENSORS_H
#define VKR_SAFETENSORS_H

#include "common/dtype.h"

#include <stddef.h>
#include <stdint.h>

#define VKR_MAX_DIMS 8

typedef struct {
    char *name;
    vkr_dtype dtype;
    int ndim;
    int64_t shape[VKR_MAX_DIMS];
    int64_t numel;
    /* Little-endian, C-contiguous (row-major) elements: into the file mapping,
     * or (torch .bin views that were not contiguous) into a private copy.
     * Not necessarily aligned to the element size: read through memcpy or
     * vkr_st_to_f32 / vkr_st_to_i64, never by casting to float *. */
    const void *data;
    size_t nbytes;
} vkr_st_tensor;

typedef struct {
    char *path;
    void *map;              /* the mmap'd file; NULL for vkr_st_open_memory */
    size_t map_len;
    vkr_st_tensor *tensors; /* sorted by name */
    int n_tensors;
    char *metadata_json;    /* "__metadata__" object re-serialised, or NULL */
} vkr_safetensors;

/* VKR_E_NOINPUT when the file cannot be opened, VKR_E_DATA when it is malformed. */
int vkr_st_open(vkr_safetensors *st, const char *path);
/* Parses buf[0..len) in place (not copied: it must outlive st; map stays
 * NULL). `what` names it in messages. For fuzzing and embedded data. */
int vkr_st_open_memory(vkr_safetensors *st, const void *buf, size_t len, const char *what);
void vkr_st_close(vkr_safetensors *st);

/* NULL when absent. Binary search. */
const vkr_st_tensor *vkr_st_find(const vkr_safetensors *st, const char *name);

/* Converts any float or integer tensor to f32 (out has numel elements). */
int vkr_st_to_f32(const vkr_st_tensor *t, float *out);
/* Converts an integer tensor to int64 (out has numel elements). */
int vkr_st_to_i64(const vkr_st_tensor *t, int64_t *out);

/* Returns a malloc'd f32 copy of tensor `name`, or NULL with vkr_fail() set
 * (VKR_E_DATA naming the missing tensor). `numel` may be NULL. */
float *vkr_st_load_f32(const vkr_safetensors *st, const char *name, int64_t *numel);

#endif
