/* Matmul / linear family: batched C[b] = act(scale * A[b] . B[b] + bias) + residual[b].
 *
 * Tensors are 5-D views (gpu/tensor.h): the matrix is the last two dims (H =
 * rows, W = columns) and dims N, C, F are batch dims. A is [.., M, K], B is
 * [.., K, N], C is [.., M, N]. A transposed operand is a permuted view
 * (vkr_tensor_permute swapping H and W): the kernels read both operands through
 * their strides, so no copy is made. In each batch dim A, B and the residual
 * either match C or have extent 1 (broadcast: e.g. one weight matrix for every
 * batch entry). Storage: A, C and the residual share one dtype (f32, f16 or
 * bf16); B and the bias share one dtype (f32, f16 or bf16) — f16/bf16 weights
 * on f32 activations work. Accumulation is f32.
 *
 * Variants (chosen per call by vkr_matmul_plan_for, see docs/performance.md):
 *  - tiled: register-tiled shared-memory kernel (shaders/matmul.comp), tile
 *    sizes specialised per device and shape; every device.
 *  - skinny: M <= 8 rows (timestep MLP, pooled embeddings), K split across a
 *    workgroup (shaders/matmul_skinny.comp).
 *  - bcast: CPU Vulkan drivers (lavapipe) with 8-lane subgroups, operands
 *    contiguous along K (the Linear case): rows of A spread across lanes with
 *    subgroupBroadcast, no shared memory (shaders/matmul_bcast.comp).
 *  - coopmat: VK_KHR_cooperative_matrix (shaders/matmul_coopmat.comp), f16
 *    A and B, f32 accumulators, matrix shape from the device's reported
 *    properties; only on devices that report an f16 x f16 -> f32 subgroup
 *    shape, and only when the build's glslc supports GL_KHR_cooperative_matrix.
 *
 * Tensors larger than one binding window are split along the batch dims, then
 * along the rows of A / C / residual; B (one K x N matrix of one batch entry)
 * and one row of A must each fit a window, else VKR_E_DATA. */
#ifndef VKR_OPS_MATMUL_H
#define VKR_OPS_MATMUL_H

#include "gpu/ops_eltwise.h" /* vkr_unary_op: the fused activation ids */
#include "gpu/tensor.h"

/* Optional fused epilogue, applied in this order to the f32 accumulator:
 * v = scale * acc; v += bias[n]; v = act(v); v += residual[b][m][n]; store. */
typedef struct {
    float scale;                /* 0 means 1 */
    const vkr_tensor *bias;     /* N values along W (other dims 1), B's dtype; NULL: none */
    vkr_unary_op act;           /* VKR_UNARY_IDENTITY (0, none), SILU, GELU_ERF, GELU_TANH,
                                 * QUICK_GELU, RELU, TANH or SIGMOID */
    const vkr_tensor *residual; /* C's shape (batch dims may broadcast) and dtype; NULL: none */
} vkr_matmul_epilogue;

/* c = epilogue(a . b). ep may be NULL. c must not overlap a, b or the bias;
 * it may be the residual tensor itself (in-place residual add). */
int vkr_op_matmul(vkr_gpu *gpu, const vkr_tensor *a, const vkr_tensor *b, const vkr_matmul_epilogue *ep,
                  const vkr_tensor *c);

/* torch.nn.Linear: y = x . weight^T + bias. x is [.., K] (any leading dims
 * are rows), weight is (out = N, in = K) stored as [1, 1, 1, N, K], bias is
 * [N] (NULL: none), y is [.., N] with x's leading dims. */
int vkr_op_linear(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_tensor *bias,
                  const vkr_tensor *y);
/* Linear with a fused epilogue (ep->bias is the Linear bias): e.g. linear ->
 * GELU, or an output projection plus the residual stream. */
int vkr_op_linear_ex(vkr_gpu *gpu, const vkr_tensor *x, const vkr_tensor *weight, const vkr_matmul_epilogue *ep,
                     const vkr_tensor *y);

/* ---- variant selection (exposed for tests and the benchmark) ---- */

typedef enum {
    VKR_MATMUL_TILED = 0,
    VKR_MATMUL_SKINNY = 1,
    VKR_MATMUL_COOPMAT = 2,
    VKR_MATMUL_BCAST = 3, /* CPU drivers: K-contiguous operands, rows spread by subgroupBroadcast */
} vkr_matmul_variant;

typedef struct {
    vkr_matmul_variant variant;
    uint32_t wg;                 /* workgroup size (invocations) */
    uint32_t bm, bn, bk, tm, tn; /* tiled: workgroup tile BM x BN, K slice BK, TM x TN per invocation;
                                  * coopmat: workgroup tile BM x BN, K slice BK */
    uint32_t cm, cn, ck;         /* coopmat: the device's matrix shape */
    uint32_t subgroup;           /* coopmat: required subgroup size */
    uint32_t maxm, nw;           /* skinny: rows, output columns per workgroup */
                                 /* bcast: tn = columns per lane, wg = 8 x subgroups */
} vkr_matmul_plan;

/* The variant and tile sizes for an (m x k) . (k x n) product with A stored as
 * a_dtype and B as b_dtype on `dev`. coopmat_built: the build embeds the
 * cooperative-matrix shader (vkr_matmul_coopmat_built()). Pure function. */
void vkr_matmul_plan_for(const vkr_device_info *dev, int coopmat_built, vkr_dtype a_dtype, vkr_dtype b_dtype,
                         int64_t m, int64_t n, int64_t k, vkr_matmul_plan *plan);

/* 1 when shaders/matmul_coopmat.comp was compiled into this build (glslc with
 * GL_KHR_cooperative_matrix support), else 0. */
int vkr_matmul_coopmat_built(void);

/* Forces a variant / tile for subsequent calls on this thread (benchmarks and
 * tuning); NULL restores automatic selection. Fields left 0 keep the automatic
 * choice. Also settable from the environment: VKREEL_MATMUL=tiled|skinny|coopmat|
 * bcast|bcastTNxWG (TN 2 or 4 columns per lane, WG invocations) and
 * VKREEL_MATMUL_TILE=BMxBNxBKxTMxTN. Invalid tiles are VKR_E_USAGE. A forced
 * bcast on operands not contiguous along K runs the tiled kernel instead. */
int vkr_matmul_force(const vkr_matmul_plan *plan);

/* "tiled 64x64x16 4x4" etc. (for benchmark output). */
void vkr_matmul_plan_string(const vkr_matmul_plan *plan, char *out, size_t n);

#endif
