/* Reference for the normalisation / reduction family (gpu/ops_norm.c). */
#include "gpu/ref_norm.h"

#include <math.h>

static double at(const vkr_host_tensor *t, int64_t a, int64_t b, int64_t c, int64_t d, int64_t e)
{
    return t->data[a * t->nb[0] + b * t->nb[1] + c * t->nb[2] + d * t->nb[3] + e * t->nb[4]];
}

static float *ptr(const vkr_host_tensor *t, int64_t a, int64_t b, int64_t c, int64_t d, int64_t e)
{
    return &t->data[a * t->nb[0] + b * t->nb[1] + c * t->nb[2] + d * t->nb[3] + e * t->nb[4]];
}

void vkr_ref_group_norm(const vkr_host_tensor *x, const float *weight, const float *bias, int groups, double eps,
                        int per_frame, int silu, const vkr_host_tensor *y)
{
    const int64_t N = x->ne[0], C = x->ne[1], F = x->ne[2], H = x->ne[3], W = x->ne[4], cg = C / groups;
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < groups; g++)
            for (int64_t f0 = 0; f0 < F; f0 += per_frame ? 1 : F) {
                int64_t f1 = per_frame ? f0 + 1 : F;
                double sum = 0, sq = 0, cnt = (double)(cg * (f1 - f0) * H * W);
                for (int64_t c = g * cg; c < (g + 1) * cg; c++)
                    for (int64_t f = f0; f < f1; f++)
                        for (int64_t h = 0; h < H; h++)
                            for (int64_t w = 0; w < W; w++)
                                sum += at(x, n, c, f, h, w);
                double mean = sum / cnt;
                for (int64_t c = g * cg; c < (g + 1) * cg; c++)
                    for (int64_t f = f0; f < f1; f++)
                        for (int64_t h = 0; h < H; h++)
                            for (int64_t w = 0; w < W; w++) {
                                double d = at(x, n, c, f, h, w) - mean;
                                sq += d * d;
                            }
                double rstd = 1.0 / sqrt(sq / cnt + eps);
                for (int64_t c = g * cg; c < (g + 1) * cg; c++)
                    for (int64_t f = f0; f < f1; f++)
                        for (int64_t h = 0; h < H; h++)
                            for (int64_t w = 0; w < W; w++) {
                                double v = (at(x, n, c, f, h, w) - mean) * rstd;
                                if (weight)
                                    v = v * weight[c] + bias[c];
                                if (silu)
                                    v = v / (1.0 + exp(-v));
                                *ptr(y, n, c, f, h, w) = (float)v;
                            }
            }
}

#define FOR_ROWS(t, a, b, c, d)                                                                    \
    for (int64_t a = 0; a < (t)->ne[0]; a++)                                                       \
        for (int64_t b = 0; b < (t)->ne[1]; b++)                                                   \
            for (int64_t c = 0; c < (t)->ne[2]; c++)                                               \
                for (int64_t d = 0; d < (t)->ne[3]; d++)

void vkr_ref_layer_norm(const vkr_host_tensor *x, const float *weight, const float *bias, double eps,
                        const vkr_host_tensor *y)
{
    const int64_t W = x->ne[4];
    FOR_ROWS(x, a, b, c, d)
    {
        double sum = 0, sq = 0;
        for (int64_t w = 0; w < W; w++)
            sum += at(x, a, b, c, d, w);
        double mean = sum / (double)W;
        for (int64_t w = 0; w < W; w++) {
            double e = at(x, a, b, c, d, w) - mean;
            sq += e * e;
        }
        double rstd = 1.0 / sqrt(sq / (double)W + eps);
        for (int64_t w = 0; w < W; w++) {
            double v = (at(x, a, b, c, d, w) - mean) * rstd;
            if (weight)
                v = v * weight[w] + bias[w];
            *ptr(y, a, b, c, d, w) = (float)v;
        }
    }
}

/* mask element for x index (a..e), broadcasting unit dims */
static double mask_at(const vkr_host_tensor *m, int64_t a, int64_t b, int64_t c, int64_t d, int64_t e)
{
    return at(m, m->ne[0] == 1 ? 0 : a, m->ne[1] == 1 ? 0 : b, m->ne[2] == 1 ? 0 : c, m->ne[3] == 1 ? 0 : d,
              m->ne[4] == 1 ? 0 : e);
}

void vkr_ref_softmax(const vkr_host_tensor *x, const vkr_host_tensor *mask, double scale, const vkr_host_tensor *y)
{
    const int64_t W = x->ne[4];
    FOR_ROWS(x, a, b, c, d)
    {
        double mx = -INFINITY, sum = 0;
        for (int64_t w = 0; w < W; w++) {
            double v = at(x, a, b, c, d, w) * scale + (mask ? mask_at(mask, a, b, c, d, w) : 0);
            mx = v > mx ? v : mx;
        }
        for (int64_t w = 0; w < W; w++)
            sum += exp(at(x, a, b, c, d, w) * scale + (mask ? mask_at(mask, a, b, c, d, w) : 0) - mx);
        for (int64_t w = 0; w < W; w++)
            *ptr(y, a, b, c, d, w) =
                (float)(exp(at(x, a, b, c, d, w) * scale + (mask ? mask_at(mask, a, b, c, d, w) : 0) - mx) / sum);
    }
}

void vkr_ref_l2_normalize(const vkr_host_tensor *x, double eps, const vkr_host_tensor *y)
{
    const int64_t W = x->ne[4];
    FOR_ROWS(x, a, b, c, d)
    {
        double sq = 0;
        for (int64_t w = 0; w < W; w++)
            sq += at(x, a, b, c, d, w) * at(x, a, b, c, d, w);
        double norm = sqrt(sq);
        if (norm < eps)
            norm = eps;
        for (int64_t w = 0; w < W; w++)
            *ptr(y, a, b, c, d, w) = (float)(at(x, a, b, c, d, w) / norm);
    }
}

void vkr_ref_reduce(const vkr_host_tensor *x, int dim, int mean, const vkr_host_tensor *y)
{
    int64_t i[5];
    for (i[0] = 0; i[0] < y->ne[0]; i[0]++)
        for (i[1] = 0; i[1] < y->ne[1]; i[1]++)
            for (i[2] = 0; i[2] < y->ne[2]; i[2]++)
                for (i[3] = 0; i[3] < y->ne[3]; i[3]++)
                    for (i[4] = 0; i[4] < y->ne[4]; i[4]++) {
                        int64_t j[5] = {i[0], i[1], i[2], i[3], i[4]};
                        double s = 0;
                        for (j[dim] = 0; j[dim] < x->ne[dim]; j[dim]++)
                            s += at(x, j[0], j[1], j[2], j[3], j[4]);
                        if (mean)
                            s /= (double)x->ne[dim];
                        *ptr(y, i[0], i[1], i[2], i[3], i[4]) = (float)s;
                    }
}
