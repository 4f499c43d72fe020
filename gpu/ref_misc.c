/* Reference for the small ops (gpu/ops_misc.c). */
#include "gpu/ref_misc.h"

#include <math.h>

/* ATen nearest_idx (UpSample.h) with a float scale = in / out. */
static int64_t nearest_src(int64_t dst, int64_t in, int64_t out)
{
    if (out == in)
        return dst;
    if (out == 2 * in)
        return dst >> 1;
    float scale = (float)in / (float)out;
    volatile float s = (float)dst * scale; /* one f32 rounding, no contraction */
    int64_t i = (int64_t)floorf(s);
    return i < in - 1 ? i : in - 1;
}

void vkr_ref_upsample_nearest(const vkr_host_tensor *x, const vkr_host_tensor *y)
{
    for (int64_t a = 0; a < y->ne[0]; a++)
        for (int64_t b = 0; b < y->ne[1]; b++)
            for (int64_t c = 0; c < y->ne[2]; c++)
                for (int64_t h = 0; h < y->ne[3]; h++)
                    for (int64_t w = 0; w < y->ne[4]; w++) {
                        int64_t sh = nearest_src(h, x->ne[3], y->ne[3]), sw = nearest_src(w, x->ne[4], y->ne[4]);
                        y->data[a * y->nb[0] + b * y->nb[1] + c * y->nb[2] + h * y->nb[3] + w * y->nb[4]] =
                            x->data[a * x->nb[0] + b * x->nb[1] + c * x->nb[2] + sh * x->nb[3] + sw * x->nb[4]];
                    }
}

void vkr_ref_timestep_embedding(const float *t, int64_t n, const vkr_timestep_params *p, int64_t dim, float *y)
{
    int64_t half = dim / 2;
    double max_period = p->max_period > 0 ? p->max_period : 10000.0;
    float nl = (float)-log(max_period), denom = (float)((double)half - p->downscale_freq_shift);
    float scale = p->scale != 0 ? p->scale : 1.0f;
    for (int64_t r = 0; r < n; r++) {
        for (int64_t i = 0; i < half; i++) {
            volatile float ex = nl * (float)i; /* f32 tensor ops, each rounded */
            ex = ex / denom;
            volatile float freq = expf(ex);
            volatile float arg = t[r] * freq;
            arg = arg * scale;
            float s = (float)sin((double)arg), c = (float)cos((double)arg);
            y[r * dim + i] = p->flip_sin_to_cos ? c : s;
            y[r * dim + half + i] = p->flip_sin_to_cos ? s : c;
        }
        if (dim % 2)
            y[r * dim + dim - 1] = 0;
    }
}

void vkr_ref_embedding(const int64_t *ids, int64_t n, const float *table, int64_t dim, const float *pos, int64_t seq,
                       float *y)
{
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < dim; c++)
            y[r * dim + c] = (float)((double)table[ids[r] * dim + c] + (pos ? (double)pos[(r % seq) * dim + c] : 0));
}
