/* Reference for the matmul family: three loops in double (llama2.c style). */
#include "gpu/ref_matmul.h"

#include <math.h>

static int64_t bidx(const vkr_host_tensor *t, const int64_t i[3])
{
    int64_t o = 0;
    for (int d = 0; d < 3; d++)
        o += (t->ne[d] == 1 ? 0 : i[d]) * t->nb[d];
    return o;
}

void vkr_ref_matmul(const vkr_host_tensor *a, const vkr_host_tensor *b, const vkr_host_tensor *bias,
                    vkr_unary_op act, const vkr_host_tensor *residual, float scale, const vkr_host_tensor *c,
                    float *abs_sum)
{
    double s = scale != 0.0f ? scale : 1.0;
    int64_t M = c->ne[3], N = c->ne[4], K = a->ne[4], i[3], flat = 0;
    for (i[0] = 0; i[0] < c->ne[0]; i[0]++)
        for (i[1] = 0; i[1] < c->ne[1]; i[1]++)
            for (i[2] = 0; i[2] < c->ne[2]; i[2]++) {
                const float *pa = a->data + bidx(a, i), *pb = b->data + bidx(b, i);
                float *pc = c->data + bidx(c, i);
                const float *pr = residual ? residual->data + bidx(residual, i) : NULL;
                for (int64_t m = 0; m < M; m++)
                    for (int64_t n = 0; n < N; n++, flat++) {
                        double acc = 0, mag = 0;
                        for (int64_t k = 0; k < K; k++) {
                            double t = (double)pa[m * a->nb[3] + k * a->nb[4]] * pb[k * b->nb[3] + n * b->nb[4]];
                            acc += t;
                            mag += fabs(t);
                        }
                        double v = s * acc;
                        if (bias)
                            v += bias->data[n * bias->nb[4]];
                        v = vkr_ref_unary_value(act, v, 0, 0);
                        if (pr)
                            v += pr[m * residual->nb[3] + n * residual->nb[4]];
                        pc[m * c->nb[3] + n * c->nb[4]] = (float)v;
                        if (abs_sum)
                            abs_sum[flat] = (float)(mag * fabs(s));
                    }
            }
}
