/* Plain-C reference implementations of the GPU kernels (checkasm style): the
 * tests compare every kernel against these, and benchmarks use them as the
 * baseline. They favour obviousness over speed and compute in double.
 * Each kernel family adds its functions to its own gpu/ref_<family>.c. */
#ifndef VKR_REF_H
#define VKR_REF_H

#include "gpu/ops_eltwise.h"

#include <stdint.h>

/* A host f32 tensor view: element [i0..i4] is data[sum i_d * nb[d]]. */
typedef struct {
    float *data;
    int64_t ne[5], nb[5];
} vkr_host_tensor;

/* A contiguous view of data with extents ne. */
vkr_host_tensor vkr_host_contiguous(float *data, const int64_t ne[5]);

/* The activation itself, in double (also used by other references). */
double vkr_ref_unary_value(vkr_unary_op op, double x, double p0, double p1);

/* out = f(x); x broadcasts to out (dims of extent 1). */
void vkr_ref_unary(vkr_unary_op op, const vkr_host_tensor *x, const vkr_host_tensor *out, float p0, float p1);
/* out = a (op) b with broadcasting. */
void vkr_ref_binary(vkr_binary_op op, const vkr_host_tensor *a, const vkr_host_tensor *b, const vkr_host_tensor *out);

#endif
