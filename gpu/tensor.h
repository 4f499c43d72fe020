/* Device tensors: 5-D (N, C, F, H, W) with element strides, f32/f16/bf16 storage.
 *
 * A vkr_tensor is a small value (copy it freely): where the data lives plus a
 * shape and strides. Views (slice, permute, reshape) are new values pointing at
 * the same memory; only the tensor returned by vkr_tensor_alloc() owns it and
 * may be passed to vkr_tensor_free(). Index order is [N][C][F][H][W], W fastest;
 * lower-rank tensors put 1 in the leading dims (a matrix [rows, cols] is
 * ne = {1, 1, 1, rows, cols}). Kernels accumulate in f32 whatever the storage. */
#ifndef VKR_TENSOR_H
#define VKR_TENSOR_H

#include "common/dtype.h"
#include "gpu/gpu.h"

#include <stdint.h>

#define VKR_DIMS 5
enum { VKR_DIM_N = 0, VKR_DIM_C, VKR_DIM_F, VKR_DIM_H, VKR_DIM_W };

struct vkr_mem_block;

typedef enum {
    VKR_MEM_WEIGHTS = 0,   /* bump arena: lives until vkr_gpu_weights_reset() */
    VKR_MEM_ACTIVATIONS,   /* first-fit free list: vkr_tensor_free() returns memory */
} vkr_mem_kind;

typedef struct vkr_tensor {
    struct vkr_mem_block *block; /* device memory block (VkBuffer) holding the data */
    uint64_t offset;             /* byte offset of element [0,0,0,0,0] in the block */
    int64_t ne[VKR_DIMS];        /* extents */
    int64_t nb[VKR_DIMS];        /* strides in elements (>= 0; 0 = broadcast) */
    vkr_dtype dtype;             /* VKR_F32, VKR_F16 or VKR_BF16 */
    uint8_t owner;               /* 1: returned by vkr_tensor_alloc (free it) */
    uint8_t kind;                /* vkr_mem_kind of the allocation */
    uint64_t alloc_offset, alloc_size; /* the owned allocation (owner only) */
} vkr_tensor;

/* Allocates a contiguous tensor. Contents are undefined. */
int vkr_tensor_alloc(vkr_gpu *gpu, vkr_mem_kind kind, vkr_dtype dtype, const int64_t ne[VKR_DIMS],
                     vkr_tensor *out);
/* Returns an activation tensor's memory (weights: no-op until the arena reset).
 * Safe while ops using it are still recorded but not submitted: the barrier
 * tracker orders a later writer of the same memory after earlier readers. */
void vkr_tensor_free(vkr_gpu *gpu, vkr_tensor *t);
/* Frees every weight tensor at once (they must not be used afterwards). */
void vkr_gpu_weights_reset(vkr_gpu *gpu);

int64_t vkr_tensor_nelem(const vkr_tensor *t);
int vkr_tensor_is_contiguous(const vkr_tensor *t);
void vkr_contiguous_strides(const int64_t ne[VKR_DIMS], int64_t nb[VKR_DIMS]);
/* Bytes from the first to one past the last element (what a binding must cover). */
uint64_t vkr_tensor_span_bytes(const vkr_tensor *t);

/* Views. out may equal t. */
int vkr_tensor_slice(const vkr_tensor *t, int dim, int64_t start, int64_t len, vkr_tensor *out);
int vkr_tensor_permute(const vkr_tensor *t, const int perm[VKR_DIMS], vkr_tensor *out); /* out.ne[i] = t.ne[perm[i]] */
int vkr_tensor_reshape(const vkr_tensor *t, const int64_t ne[VKR_DIMS], vkr_tensor *out); /* contiguous only */
/* Broadcast view: dims where t.ne is 1 get extent ne[d] and stride 0. */
int vkr_tensor_broadcast(const vkr_tensor *t, const int64_t ne[VKR_DIMS], vkr_tensor *out);

/* Host <-> device transfers through the staging ring. `host` holds nelem values
 * of host_dtype (F32, F16 or BF16) in the tensor's logical [N][C][F][H][W] order;
 * conversion happens on the host. Uploads are recorded (ordered with the ops
 * around them); a download is a sync point (submits and waits). Views with
 * strides are handled with a copy kernel through a temporary. */
int vkr_tensor_upload(vkr_gpu *gpu, const vkr_tensor *t, const void *host, vkr_dtype host_dtype);
int vkr_tensor_download(vkr_gpu *gpu, const vkr_tensor *t, void *host, vkr_dtype host_dtype);

#endif
