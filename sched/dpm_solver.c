/* DPMSolverMultistepScheduler.step (diffusers 0.27.2): multistep DPM-Solver++
 * (arXiv 2211.01095) of order 1..3, "DPM++ 2M" with the default solver_order 2.
 *
 * Each sigma is turned into alpha = 1/sqrt(sigma^2 + 1), sigma_t = sigma * alpha,
 * lambda = log(alpha) - log(sigma_t). The model output is first converted to a
 * data prediction x0 (dpmsolver++) or a noise prediction (dpmsolver), kept for
 * the next steps, and then, with h = lambda_next - lambda_cur:
 *   1st order (++):  x' = (s'/s) x - a' (e^-h - 1) D0
 *   2nd order (++, midpoint): D1 = (m0 - m1) / r0, r0 = h_prev / h,
 *                    x' = (s'/s) x - a' (e^-h - 1) D0 - 0.5 a' (e^-h - 1) D1
 * The first step is first order (no history); the last step is first order when
 * final_sigmas_type is "zero" (sigma' = 0 makes h infinite: x' = D0), with
 * euler_at_final, or with lower_order_final and fewer than 15 steps, which also
 * makes the second-to-last step at most second order.
 * All in float32, one rounding per torch op (logf/expf of 0-d float32 tensors). */
#include "common/status.h"
#include "sched/sampler_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched/fp_strict.h"

typedef struct {
    float alpha, sigma, lambda;
} vp_coef;

static vp_coef coef_at(const vkr_sampler *s, int idx)
{
    vp_coef c;
    const float sg = s->sigmas[idx];
    c.alpha = 1.0f / sqrtf(sg * sg + 1.0f);
    c.sigma = sg * c.alpha;
    c.lambda = logf(c.alpha) - logf(c.sigma);
    return c;
}

/* convert_model_output: the data prediction (dpmsolver++) or the noise prediction
 * (dpmsolver) from the raw model output. pred_x0 (optional) gets the data prediction. */
static void convert_output(const vkr_sampler *s, int i, const float *m, const float *x, float *out, size_t n,
                           float *pred_x0)
{
    const vp_coef c = coef_at(s, i);
    const vkr_prediction_type pt = s->cfg.prediction_type;
    const bool plus = s->cfg.algorithm_type == VKR_DPM_ALGO_DPMSOLVERPP;
    for (size_t k = 0; k < n; k++) {
        float x0, eps;
        if (pt == VKR_PRED_EPSILON) {
            eps = m[k];
            x0 = (x[k] - c.sigma * eps) / c.alpha;
        } else if (pt == VKR_PRED_V) {
            x0 = c.alpha * x[k] - c.sigma * m[k];
            eps = c.alpha * m[k] + c.sigma * x[k];
        } else {
            x0 = m[k];
            eps = (x[k] - c.alpha * x0) / c.sigma;
        }
        if (pred_x0)
            pred_x0[k] = x0;
        out[k] = plus ? x0 : eps;
    }
}

int vkr_dpm_solver_step(vkr_sampler *s, int i, const float *model_output, float *x, size_t n, float *pred_x0)
{
    const vkr_sched_config *cfg = &s->cfg;
    const int order = cfg->solver_order, N = s->num_steps;
    const bool plus = cfg->algorithm_type == VKR_DPM_ALGO_DPMSOLVERPP;

    if (i == 0) {
        for (int k = 0; k < 3; k++) {
            free(s->model_outputs[k]);
            s->model_outputs[k] = NULL;
        }
        for (int k = 0; k < order; k++)
            if (!(s->model_outputs[k] = malloc((n ? n : 1) * sizeof(float))))
                return vkr_fail(VKR_E_INTERNAL, "out of memory");
        s->lower_order_nums = 0;
    }

    const bool lower_order_final =
        i == N - 1 && (cfg->euler_at_final || (cfg->lower_order_final && N < 15) ||
                       cfg->final_sigmas_type == VKR_FINAL_SIGMA_ZERO);
    const bool lower_order_second = i == N - 2 && cfg->lower_order_final && N < 15;

    /* model_outputs[order-1] is the newest; rotate the buffers instead of copying. */
    float *oldest = s->model_outputs[0];
    for (int k = 0; k < order - 1; k++)
        s->model_outputs[k] = s->model_outputs[k + 1];
    s->model_outputs[order - 1] = oldest;
    convert_output(s, i, model_output, x, oldest, n, pred_x0);

    const float *m0 = s->model_outputs[order - 1];
    const vp_coef t = coef_at(s, i + 1), s0 = coef_at(s, i);
    const float h = t.lambda - s0.lambda;
    /* x_coef * x - d0_coef * D0 is the first-order (DDIM-equivalent) update. */
    const float x_coef = plus ? t.sigma / s0.sigma : t.alpha / s0.alpha;
    const float em1 = plus ? expf(-h) - 1.0f : expf(h) - 1.0f;
    const float d0_coef = plus ? t.alpha * em1 : t.sigma * em1;

    if (order == 1 || s->lower_order_nums < 1 || lower_order_final) {
        for (size_t k = 0; k < n; k++) {
            const float a = x_coef * x[k], b = d0_coef * m0[k];
            x[k] = a - b;
        }
    } else if (order == 2 || s->lower_order_nums < 2 || lower_order_second) {
        const float *m1 = s->model_outputs[order - 2];
        const vp_coef s1 = coef_at(s, i - 1);
        const float h0 = s0.lambda - s1.lambda;
        const float r0 = h0 / h;
        const float inv_r0 = 1.0f / r0;
        float d1_coef;
        bool d1_add; /* the heun variant of dpmsolver++ adds the D1 term */
        if (cfg->solver_type == VKR_DPM_SOLVER_MIDPOINT) {
            d1_coef = 0.5f * d0_coef;
            d1_add = false;
        } else if (plus) {
            d1_coef = t.alpha * (em1 / h + 1.0f);
            d1_add = true;
        } else {
            d1_coef = t.sigma * (em1 / h - 1.0f);
            d1_add = false;
        }
        for (size_t k = 0; k < n; k++) {
            const float diff = m0[k] - m1[k];
            const float d1 = inv_r0 * diff;
            const float a = x_coef * x[k], b = d0_coef * m0[k];
            const float ab = a - b;
            const float c = d1_coef * d1;
            x[k] = d1_add ? ab + c : ab - c;
        }
    } else {
        const float *m1 = s->model_outputs[order - 2], *m2 = s->model_outputs[order - 3];
        const vp_coef s1 = coef_at(s, i - 1), s2 = coef_at(s, i - 2);
        const float h0 = s0.lambda - s1.lambda, h1 = s1.lambda - s2.lambda;
        const float r0 = h0 / h, r1 = h1 / h;
        const float inv_r0 = 1.0f / r0, inv_r1 = 1.0f / r1;
        const float r01 = r0 + r1;
        const float w1 = r0 / r01, inv_r01 = 1.0f / r01;
        float d1_coef, d2_coef;
        if (plus) {
            d1_coef = t.alpha * (em1 / h + 1.0f);
            d2_coef = t.alpha * ((em1 + h) / (h * h) - 0.5f);
        } else {
            d1_coef = t.sigma * (em1 / h - 1.0f);
            d2_coef = t.sigma * ((em1 - h) / (h * h) - 0.5f);
        }
        for (size_t k = 0; k < n; k++) {
            const float d1_0 = inv_r0 * (m0[k] - m1[k]);
            const float d1_1 = inv_r1 * (m1[k] - m2[k]);
            const float dd = d1_0 - d1_1;
            const float d1 = d1_0 + w1 * dd;
            const float d2 = inv_r01 * dd;
            const float a = x_coef * x[k], b = d0_coef * m0[k];
            const float c1 = d1_coef * d1, c2 = d2_coef * d2;
            float r = a - b;
            r = plus ? r + c1 : r - c1;
            x[k] = r - c2;
        }
    }
    if (s->lower_order_nums < order)
        s->lower_order_nums++;
    return VKR_OK;
}
