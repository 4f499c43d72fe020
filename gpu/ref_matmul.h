/* Plain-C reference for the matmul family (gpu/ops_matmul.c), in double:
 * c[b] = act(scale * a[b] . b[b] + bias) + residual[b] over host views
 * (gpu/ref.h), matrix in the last two dims, batch dims broadcasting where an
 * operand has extent 1. */
#ifndef VKR_REF_MATMUL_H
#define VKR_REF_MATMUL_H

#include "gpu/ref.h"

/* bias (N values, contiguous along W) and residual may be NULL; scale 0 means 1.
 * abs_sum (may be NULL) receives, per output element, sum_k |a_mk * b_kn| * |scale|:
 * the magnitude that bounds the f32 accumulation error (tests' tolerances). */
void vkr_ref_matmul(const vkr_host_tensor *a, const vkr_host_tensor *b, const vkr_host_tensor *bias,
                    vkr_unary_op act, const vkr_host_tensor *residual, float scale, const vkr_host_tensor *c,
                    float *abs_sum);

#endif
