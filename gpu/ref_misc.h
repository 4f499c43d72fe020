/* Plain-C references for the small ops (gpu/ops_misc.h). */
#ifndef VKR_REF_MISC_H
#define VKR_REF_MISC_H

#include "gpu/ops_misc.h"
#include "gpu/ref.h"

/* y = nearest upsample of x over H, W (ATen's f32 index arithmetic). */
void vkr_ref_upsample_nearest(const vkr_host_tensor *x, const vkr_host_tensor *y);
/* y[n * dim + j]: diffusers get_timestep_embedding with torch's f32 operation
 * order; sin/cos evaluated in double from the f32 argument. */
void vkr_ref_timestep_embedding(const float *t, int64_t n, const vkr_timestep_params *p, int64_t dim, float *y);
/* y[r * dim + c] = table[ids[r] * dim + c] (+ pos[(r % seq) * dim + c]). */
void vkr_ref_embedding(const int64_t *ids, int64_t n, const float *table, int64_t dim, const float *pos, int64_t seq,
                       float *y);

#endif
