/* EulerDiscreteScheduler.step (diffusers 0.27.2) with s_churn = 0 (gamma = 0,
 * sigma_hat = sigma, no noise):
 *   epsilon:  x0 = x - sigma * e
 *   v:        x0 = v * (-sigma / sqrt(sigma^2 + 1)) + x / (sigma^2 + 1)
 *   sample:   x0 = m
 *   d  = (x - x0) / sigma
 *   x' = x + d * (sigma_next - sigma)
 * All in float32, one rounding per torch op. */
#include "common/status.h"
#include "sched/sampler_internal.h"

#include <math.h>

#include "sched/fp_strict.h"

int vkr_euler_step(vkr_sampler *s, int i, const float *model_output, float *x, size_t n, float *pred_x0)
{
    const float sigma = s->sigmas[i];
    const float sigma_hat = sigma * (0.0f + 1.0f);
    const float dt = s->sigmas[i + 1] - sigma_hat;
    const float s2p1 = sigma * sigma + 1.0f;
    const float c_out = -sigma / sqrtf(s2p1);
    const vkr_prediction_type pt = s->cfg.prediction_type;

    for (size_t k = 0; k < n; k++) {
        const float m = model_output[k], xk = x[k];
        float x0;
        if (pt == VKR_PRED_EPSILON) {
            const float scaled = sigma_hat * m;
            x0 = xk - scaled;
        } else if (pt == VKR_PRED_V) {
            const float a = m * c_out, b = xk / s2p1;
            x0 = a + b;
        } else {
            x0 = m;
        }
        if (pred_x0)
            pred_x0[k] = x0;
        const float d = (xk - x0) / sigma_hat;
        const float step = d * dt;
        x[k] = xk + step;
    }
    return VKR_OK;
}
