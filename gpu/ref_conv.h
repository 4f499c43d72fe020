/* Plain-C references for the convolution family (gpu/ops_conv.h): direct
 * loops in double, following the PyTorch definitions. Shapes and layouts as in
 * gpu/ops_conv.h; bias is O floats or NULL; res NULL or y's shape. */
#ifndef VKR_REF_CONV_H
#define VKR_REF_CONV_H

#include "gpu/ops_conv.h"
#include "gpu/ref.h"

void vkr_ref_conv2d(const vkr_host_tensor *x, const vkr_host_tensor *w, const float *bias, const vkr_host_tensor *res,
                    const vkr_conv2d_params *p, const vkr_host_tensor *y);
void vkr_ref_conv_temporal(const vkr_host_tensor *x, const vkr_host_tensor *w, const float *bias,
                           const vkr_host_tensor *res, const vkr_host_tensor *y);
void vkr_ref_conv1d(const vkr_host_tensor *x, const vkr_host_tensor *w, const float *bias, const vkr_conv1d_params *p,
                    const vkr_host_tensor *y);
/* Scatter form (each input sample adds into the outputs it reaches), so it
 * checks the GPU's per-phase gather independently. */
void vkr_ref_conv_transpose1d(const vkr_host_tensor *x, const vkr_host_tensor *w, const float *bias, int stride,
                              int padding, const vkr_host_tensor *y);

#endif
