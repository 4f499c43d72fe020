/* Reference for the convolution family (gpu/ops_conv.c). */
#include "gpu/ref_conv.h"

#include <stdlib.h>

#define AT(t, a, b, c, d, e) ((t)->data[(a) * (t)->nb[0] + (b) * (t)->nb[1] + (c) * (t)->nb[2] + (d) * (t)->nb[3] + (e) * (t)->nb[4]])

static int pos(int v) { return v < 1 ? 1 : v; }

/* Shared by conv2d / temporal / conv1d: a 3-D correlation over (F, H, W) with
 * weight element (o, i, t, h, w) at wo[o] + wi[i] + ... (see callers). */
typedef struct {
    int k[3], s[3], dl[3], pad[3];
    double scale, slope;
    int leaky;
} geom;

static void conv3(const vkr_host_tensor *x, const float *w, const float *bias, const vkr_host_tensor *res,
                  const geom *g, const vkr_host_tensor *y)
{
    int64_t C = x->ne[1];
    for (int64_t n = 0; n < y->ne[0]; n++)
        for (int64_t o = 0; o < y->ne[1]; o++)
            for (int64_t f = 0; f < y->ne[2]; f++)
                for (int64_t h = 0; h < y->ne[3]; h++)
                    for (int64_t ww = 0; ww < y->ne[4]; ww++) {
                        double acc = bias ? bias[o] : 0;
                        for (int64_t i = 0; i < C; i++)
                            for (int dt = 0; dt < g->k[0]; dt++)
                                for (int dh = 0; dh < g->k[1]; dh++)
                                    for (int dw = 0; dw < g->k[2]; dw++) {
                                        int64_t fi = f * g->s[0] + dt * g->dl[0] - g->pad[0];
                                        int64_t hi = h * g->s[1] + dh * g->dl[1] - g->pad[1];
                                        int64_t wi = ww * g->s[2] + dw * g->dl[2] - g->pad[2];
                                        if (fi < 0 || fi >= x->ne[2] || hi < 0 || hi >= x->ne[3] || wi < 0 ||
                                            wi >= x->ne[4])
                                            continue;
                                        double v = AT(x, n, i, fi, hi, wi);
                                        if (g->leaky && v < 0)
                                            v *= g->slope;
                                        acc += (double)w[((o * C + i) * g->k[0] + dt) * g->k[1] * g->k[2] +
                                                         dh * g->k[2] + dw] * v;
                                    }
                        if (res)
                            acc += AT(res, n, o, f, h, ww);
                        AT(y, n, o, f, h, ww) = (float)(acc * g->scale);
                    }
}

/* Contiguous copy of a (possibly strided) host weight, PyTorch order. */
static float *dense(const vkr_host_tensor *w)
{
    int64_t n = w->ne[0] * w->ne[1] * w->ne[2] * w->ne[3] * w->ne[4], q = 0;
    float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    if (!d)
        abort();
    for (int64_t a = 0; a < w->ne[0]; a++)
        for (int64_t b = 0; b < w->ne[1]; b++)
            for (int64_t c = 0; c < w->ne[2]; c++)
                for (int64_t e = 0; e < w->ne[3]; e++)
                    for (int64_t f = 0; f < w->ne[4]; f++)
                        d[q++] = AT(w, a, b, c, e, f);
    return d;
}

void vkr_ref_conv2d(const vkr_host_tensor *x, const vkr_host_tensor *w, const float *bias, const vkr_host_tensor *res,
                    const vkr_conv2d_params *p, const vkr_host_tensor *y)
{
    geom g = {.k = {1, (int)w->ne[3], (int)w->ne[4]}, .s = {1, pos(p->stride_h), pos(p->stride_w)}, .dl = {1, 1, 1},
              .pad = {0, p->pad_top, p->pad_left}, .scale = p->output_scale_factor != 0 ? 1.0 / p->output_scale_factor : 1};
    float *wd = dense(w);
    conv3(x, wd, bias, res, &g, y);
    free(wd);
}

void vkr_ref_conv_temporal(const vkr_host_tensor *x, const vkr_host_tensor *w, const float *bias,
                           const vkr_host_tensor *res, const vkr_host_tensor *y)
{
    int kt = (int)w->ne[2];
    geom g = {.k = {kt, 1, 1}, .s = {1, 1, 1}, .dl = {1, 1, 1}, .pad = {(kt - 1) / 2, 0, 0}, .scale = 1};
    float *wd = dense(w);
    conv3(x, wd, bias, res, &g, y);
    free(wd);
}

void vkr_ref_conv1d(const vkr_host_tensor *x, const vkr_host_tensor *w, const float *bias, const vkr_conv1d_params *p,
                    const vkr_host_tensor *y)
{
    geom g = {.k = {1, 1, (int)w->ne[4]}, .s = {1, 1, pos(p->stride)}, .dl = {1, 1, pos(p->dilation)},
              .pad = {0, 0, p->padding}, .scale = 1, .slope = p->input_slope, .leaky = p->input_leaky_relu};
    float *wd = dense(w);
    conv3(x, wd, bias, NULL, &g, y);
    free(wd);
}

void vkr_ref_conv_transpose1d(const vkr_host_tensor *x, const vkr_host_tensor *w, const float *bias, int stride,
                              int padding, const vkr_host_tensor *y)
{
    int64_t N = y->ne[0], O = y->ne[1], Lo = y->ne[4], C = x->ne[1], L = x->ne[4], K = w->ne[4];
    double *acc = calloc((size_t)(O * Lo), sizeof *acc);
    if (!acc)
        abort();
    for (int64_t n = 0; n < N; n++) {
        for (int64_t o = 0; o < O; o++)
            for (int64_t l = 0; l < Lo; l++)
                acc[o * Lo + l] = bias ? bias[o] : 0;
        for (int64_t i = 0; i < C; i++)
            for (int64_t j = 0; j < L; j++) {
                double v = AT(x, n, i, 0, 0, j);
                for (int64_t o = 0; o < O; o++)
                    for (int64_t t = 0; t < K; t++) {
                        int64_t l = j * pos(stride) - padding + t;
                        if (l >= 0 && l < Lo)
                            acc[o * Lo + l] += (double)AT(w, 0, 0, i, o, t) * v;
                    }
            }
        for (int64_t o = 0; o < O; o++)
            for (int64_t l = 0; l < Lo; l++)
                AT(y, n, o, 0, 0, l) = (float)acc[o * Lo + l];
    }
    free(acc);
}
