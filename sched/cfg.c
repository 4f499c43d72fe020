/* Classifier-free guidance (see cfg.h). */
#include "sched/cfg.h"

#include <math.h>

#include "sched/fp_strict.h"

/* Unbiased standard deviation (torch.std default), accumulated in double. */
static double row_std(const float *x, size_t n)
{
    if (n < 2)
        return 0.0;
    double mean = 0;
    for (size_t k = 0; k < n; k++)
        mean += x[k];
    mean /= (double)n;
    double ss = 0;
    for (size_t k = 0; k < n; k++) {
        const double d = x[k] - mean;
        ss += d * d;
    }
    return sqrt(ss / (double)(n - 1));
}

void vkr_cfg_combine(const float *model_out, size_t batch, size_t row_n, float guidance_scale,
                     float guidance_rescale, float *out)
{
    const float w = guidance_scale;
    for (size_t b = 0; b < batch; b++) {
        const float *u = model_out + b * row_n;
        const float *c = model_out + (batch + b) * row_n;
        float *o = out + b * row_n;
        /* Element k of the output row is written after reading u[k] and c[k] only,
         * so out may alias the unconditional rows. */
        for (size_t k = 0; k < row_n; k++) {
            const float diff = c[k] - u[k];
            const float scaled = w * diff;
            o[k] = u[k] + scaled;
        }
        if (guidance_rescale > 0.0f) {
            const double std_text = row_std(c, row_n), std_cfg = row_std(o, row_n);
            const float ratio = std_cfg > 0 ? (float)(std_text / std_cfg) : 1.0f;
            const float phi = guidance_rescale, one_minus = 1.0f - guidance_rescale;
            for (size_t k = 0; k < row_n; k++) {
                const float rescaled = o[k] * ratio;
                const float a = phi * rescaled, bb = one_minus * o[k];
                o[k] = a + bb;
            }
        }
    }
}
