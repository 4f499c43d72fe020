/* Splitting kernels that REDUCE along some dims (group norm, layer norm,
 * softmax, sums) or whose operands have different shapes (upsampling) into
 * boxes that fit the binding windows. vkr_for_each_chunk() cannot do this: it
 * needs every operand to have the op's extents (or 1) in every dim, and it
 * may cut any dim, including a reduced one.
 *
 * Here the index space `ne` spans only the dims the kernel does NOT reduce
 * over (reduced dims have extent 1 in `ne`), and each operand says how a box
 * maps onto it: for dim d with scale[i][d] > 0 and ops[i].ne[d] > 1 the
 * operand's view is [box.start[d] * scale, + box.ne[d] * scale); all other
 * dims are taken whole. Example, group norm over (N, C, F, H, W) with G groups
 * of Cg = C / G channels: ne = {N, G, F, 1, 1}, x scale {1, Cg, 1, 0, 0}, the
 * (C)-vector weight {0, Cg, 0, 0, 0}. Boxes halve the outermost dim > 1
 * (recursively) until every operand's window fits a binding. A box of one
 * index that still does not fit fails with VKR_E_DATA (the reduced extent
 * alone exceeds a window). */
#ifndef VKR_REDUCE_CHUNK_H
#define VKR_REDUCE_CHUNK_H

#include "gpu/kernel.h"

int vkr_for_each_outer_chunk(vkr_gpu *gpu, const int64_t ne[VKR_DIMS], const vkr_tensor *ops,
                             const int64_t (*scale)[VKR_DIMS], int n_ops, vkr_chunk_fn fn, void *user);

/* A (len)-element vector tensor (any of the 5 dims, e.g. a 1-D checkpoint
 * weight {1,1,1,1,C}) as a view with its extent in dim `dim` and unit
 * extents elsewhere. VKR_E_INTERNAL if t is not such a vector. */
int vkr_vector_view(const char *op, const char *name, const vkr_tensor *t, int64_t len, int dim, vkr_tensor *out);

/* Smallest power-of-two workgroup size >= n / per_invocation, clamped to [lo, hi]. */
uint32_t vkr_pow2_workgroup(int64_t n, int per_invocation, uint32_t lo, uint32_t hi);

#endif
