/* Reference for the attention family: the textbook formula, one query row at a
 * time, in double. */
#include "gpu/ref_attention.h"

#include <math.h>
#include <stdlib.h>

static double at4(const vkr_host_tensor *t, int64_t b, int64_t h, int64_t l, int64_t d)
{
    /* unit dims broadcast (mask) */
    int64_t i[4] = {b, h, l, d};
    int64_t off = 0;
    for (int x = 0; x < 4; x++)
        off += (t->ne[x + 1] == 1 ? 0 : i[x]) * t->nb[x + 1];
    return t->data[off];
}

void vkr_ref_attention(const vkr_host_tensor *q, const vkr_host_tensor *k, const vkr_host_tensor *v,
                       const vkr_host_tensor *mask, double scale, int causal, const vkr_host_tensor *out)
{
    int64_t B = q->ne[1], H = q->ne[2], Lq = q->ne[3], Lk = k->ne[3], D = q->ne[4];
    double *s = malloc((size_t)Lk * sizeof(double));
    if (!s)
        return;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Lq; i++) {
                int64_t n = causal ? (i + 1 < Lk ? i + 1 : Lk) : Lk; /* keys j <= i */
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < n; j++) {
                    double a = 0;
                    for (int64_t d = 0; d < D; d++)
                        a += at4(q, b, h, i, d) * at4(k, b, h, j, d);
                    a *= scale;
                    if (mask)
                        a += at4(mask, b, h, i, j);
                    s[j] = a < -1e30 ? -1e30 : a; /* the op's clamp: -inf masks act like finfo.min */
                    mx = s[j] > mx ? s[j] : mx;
                }
                for (int64_t j = 0; j < n; j++) {
                    s[j] = exp(s[j] - mx);
                    sum += s[j];
                }
                for (int64_t d = 0; d < D; d++) {
                    double a = 0;
                    for (int64_t j = 0; j < n; j++)
                        a += s[j] * at4(v, b, h, j, d);
                    out->data[b * out->nb[1] + h * out->nb[2] + i * out->nb[3] + d * out->nb[4]] =
                        (float)(n ? a / sum : 0);
                }
            }
    free(s);
}
