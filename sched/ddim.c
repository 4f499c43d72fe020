/* DDIMScheduler.step (diffusers 0.27.2) with eta = 0: deterministic.
 *
 *   t' = t - T / N                  (integer division, whatever the spacing: a
 *                                    diffusers quirk kept for fidelity)
 *   a_t = alphas_cumprod[t], a' = alphas_cumprod[t'] or final_alpha_cumprod if t' < 0
 *   epsilon:  x0 = (x - sqrt(1 - a_t) * e) / sqrt(a_t),         eps = e
 *   v:        x0 = sqrt(a_t) * x - sqrt(1 - a_t) * v,          eps = sqrt(a_t) * v + sqrt(1 - a_t) * x
 *   sample:   x0 = m,                                          eps = (x - sqrt(a_t) * x0) / sqrt(1 - a_t)
 *   clip_sample: x0 = clamp(x0, -range, range)
 *   x' = sqrt(a') * x0 + sqrt(1 - a') * eps
 * All in float32, one rounding per torch op. */
#include "common/status.h"
#include "sched/sampler_internal.h"

#include <math.h>

#include "sched/fp_strict.h"

int vkr_ddim_step(vkr_sampler *s, int i, const float *model_output, float *x, size_t n, float *pred_x0)
{
    const vkr_sched_config *c = &s->cfg;
    const int T = c->num_train_timesteps;
    const int t = (int)s->timesteps[i];
    const int prev_t = t - T / s->num_inference_steps;
    /* t = -1 (trailing quirk) indexes from the end, as alphas_cumprod[-1] does in torch */
    const float a_t = s->alphas_cumprod[t < 0 ? t + T : t];
    const float a_prev = prev_t >= 0 ? s->alphas_cumprod[prev_t] : s->final_alpha_cumprod;
    const float b_t = 1.0f - a_t;
    const float sqrt_a = sqrtf(a_t), sqrt_b = sqrtf(b_t);
    /* std_dev_t = eta * sqrt(variance) = 0, so the direction coefficient is sqrt(1 - a' - 0). */
    const float dir_coef = sqrtf((1.0f - a_prev) - 0.0f);
    const float sqrt_a_prev = sqrtf(a_prev);
    const float range = (float)c->clip_sample_range;

    for (size_t k = 0; k < n; k++) {
        const float m = model_output[k], xk = x[k];
        float x0, eps;
        switch (c->prediction_type) {
        case VKR_PRED_EPSILON:
            x0 = (xk - sqrt_b * m) / sqrt_a;
            eps = m;
            break;
        case VKR_PRED_V:
            x0 = sqrt_a * xk - sqrt_b * m;
            eps = sqrt_a * m + sqrt_b * xk;
            break;
        default: /* sample */
            x0 = m;
            eps = (xk - sqrt_a * x0) / sqrt_b;
            break;
        }
        if (c->clip_sample)
            x0 = x0 < -range ? -range : (x0 > range ? range : x0);
        if (pred_x0)
            pred_x0[k] = x0;
        const float dir = dir_coef * eps;
        x[k] = sqrt_a_prev * x0 + dir;
    }
    return VKR_OK;
}
