/* Step rules of the individual samplers, called by vkr_sampler_step() once it
 * has checked the step order and the element count. Not a public API. */
#ifndef VKR_SAMPLER_INTERNAL_H
#define VKR_SAMPLER_INTERNAL_H

#include "sched/sampler.h"

int vkr_ddim_step(vkr_sampler *s, int i, const float *model_output, float *x, size_t n, float *pred_x0);
int vkr_euler_step(vkr_sampler *s, int i, const float *model_output, float *x, size_t n, float *pred_x0);
int vkr_dpm_solver_step(vkr_sampler *s, int i, const float *model_output, float *x, size_t n, float *pred_x0);

#endif
