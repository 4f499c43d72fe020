/* The kernel author's API: how a host wrapper (gpu/ops_*.c) binds tensors and
 * records a compute dispatch. Read docs/gpu.md ("How to add a kernel") first.
 *
 * All kernels share ONE pipeline layout: VKR_MAX_BINDINGS storage buffers at
 * set 0, bindings 0..7, and VKR_MAX_PUSH bytes of push constants. A kernel is a
 * SPIR-V module plus specialization constants; its pipeline is created on first
 * use and cached (in memory and in the on-disk VkPipelineCache). */
#ifndef VKR_KERNEL_H
#define VKR_KERNEL_H

#include "gpu/shader.h"
#include "gpu/tensor.h"
#include "vkr_shaders.h" /* generated: extern const vkr_shader_code vkr_spv_<variant>; */

#include <stdint.h>

#define VKR_MAX_BINDINGS 8
#define VKR_MAX_SPEC 8
#define VKR_MAX_PUSH 128

typedef struct {
    const char *name;              /* profiler row, e.g. "add" (static string) */
    const vkr_shader_code *shader; /* &vkr_spv_<variant> */
    uint32_t spec[VKR_MAX_SPEC];   /* specialization constant constant_id = i */
    uint32_t n_spec;               /* by convention spec[0] = local_size_x */
    uint32_t subgroup_size;        /* required subgroup size, 0 = driver's choice */
} vkr_kernel;

/* One storage-buffer binding: a byte window [offset, offset + range) of a block. */
typedef struct {
    struct vkr_mem_block *block;
    uint64_t offset, range;
    int write; /* the kernel writes it (barrier tracking) */
} vkr_binding;

/* Binds the window covering tensor t: offset rounded down to the device's
 * minStorageBufferOffsetAlignment, range = the tensor's span. *elem_offset is the
 * index of element [0,0,0,0,0] inside the window, for the push constants.
 * Fails (VKR_E_INTERNAL) if the window exceeds maxStorageBufferRange: split the
 * work first (vkr_for_each_chunk) or use several bindings. */
int vkr_bind_tensor(vkr_gpu *gpu, const vkr_tensor *t, int write, vkr_binding *b,
                    uint32_t *elem_offset);

/* Records one dispatch. Inserts a pipeline barrier first if (and only if) a
 * binding overlaps memory written since the last barrier, or a written binding
 * overlaps memory read since then. flops/bytes feed the profiler's rates. */
int vkr_dispatch(vkr_gpu *gpu, const vkr_kernel *k, const vkr_binding *b, uint32_t n_bindings,
                 const void *push, uint32_t push_size, const uint32_t groups[3], double flops,
                 double bytes);

/* Folds n_groups workgroups into an x*y*z grid within maxComputeWorkGroupCount.
 * The shader recovers the linear group index with VKR_GROUP_INDEX()
 * (shaders/common.glsl) and must bounds-check (the grid may round up). */
int vkr_grid_1d(vkr_gpu *gpu, uint64_t n_groups, uint32_t groups[3]);

/* vkr_grid_1d + vkr_dispatch for kernels with one invocation per item:
 * ceil(n_items / k->spec[0]) workgroups (spec[0] = local_size_x). */
int vkr_dispatch_1d(vkr_gpu *gpu, const vkr_kernel *k, const vkr_binding *b, uint32_t n_bindings,
                    const void *push, uint32_t push_size, uint64_t n_items, double flops, double bytes);

/* Push-constant helpers: extents and element strides as uint32 (strides of
 * unit dims become 0, so a broadcast view and a unit dim look the same). */
void vkr_ne_u32(const vkr_tensor *t, uint32_t ne[VKR_DIMS]);
void vkr_nb_u32(const vkr_tensor *t, uint32_t nb[VKR_DIMS]);

/* Shape/dtype checks for op wrappers: VKR_E_INTERNAL (a caller bug) with a
 * message like "group_norm: x is 1x320x16x32x33 F16, expected 1x320x16x32x32".
 * A negative extent in `ne` means "any". */
int vkr_check_shape(const char *op, const char *name, const vkr_tensor *t, const int64_t ne[VKR_DIMS]);
int vkr_check_dtype(const char *op, const char *name, const vkr_tensor *t, vkr_dtype dtype);

/* Largest window one binding may cover on this context. */
uint64_t vkr_gpu_max_range(const vkr_gpu *gpu);

/* Splitting work so every operand's window fits a binding.
 * The index space `ne` is cut into boxes (halving the outermost dim that is > 1,
 * recursively) until, for every operand, the view restricted to the box has a
 * span <= max range and the box has < 2^31 elements. Operand i must have
 * ops[i].ne[d] == ne[d] or 1 (broadcast) for every d. fn is called once per box
 * with the box and each operand's view of it. */
typedef struct {
    int64_t start[VKR_DIMS], ne[VKR_DIMS];
    vkr_tensor view[VKR_MAX_BINDINGS];
} vkr_chunk;
typedef int (*vkr_chunk_fn)(vkr_gpu *gpu, const vkr_chunk *chunk, void *user);
int vkr_for_each_chunk(vkr_gpu *gpu, const int64_t ne[VKR_DIMS], const vkr_tensor *ops, int n_ops,
                       vkr_chunk_fn fn, void *user);

/* Merges adjacent dims of a chunk that are contiguous in every operand
 * (view[i].nb[d] == view[i].nb[d+1] * ne[d+1] for all i < n_ops), keeping the
 * result right-aligned in 5 dims. A contiguous elementwise op becomes 1-D, so
 * the shader skips the index divisions (see vkr_coords5 in common.glsl).
 * c->start is left as it was (the views carry the offsets). */
void vkr_chunk_collapse(vkr_chunk *c, int n_ops);

/* *index = the storage variant of dtype t in shader variant tables: F32 0,
 * F16 1, BF16 2 (the shaders' X_TYPE numbers). Fails for other dtypes
 * (VKR_E_INTERNAL) or when the device lacks the feature (VKR_E_TEMPFAIL; f16:
 * storageBuffer16BitAccess; bf16: also shaderInt16, as it is a uint16_t). */
int vkr_storage_index(const vkr_gpu *gpu, vkr_dtype t, int *index);

#endif
