/* Reference for the elementwise family (gpu/ops_eltwise.c). */
#include "gpu/ref.h"

#include <math.h>

vkr_host_tensor vkr_host_contiguous(float *data, const int64_t ne[5])
{
    vkr_host_tensor t = {.data = data};
    int64_t s = 1;
    for (int d = 4; d >= 0; d--) {
        t.ne[d] = ne[d];
        t.nb[d] = s;
        s *= ne[d];
    }
    return t;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

double vkr_ref_unary_value(vkr_unary_op op, double x, double p0, double p1)
{
    switch (op) {
    case VKR_UNARY_IDENTITY:    return x;
    case VKR_UNARY_SCALE_SHIFT: return p0 * x + p1;
    case VKR_UNARY_SILU:        return x * sigmoid(x);
    case VKR_UNARY_GELU_ERF:    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case VKR_UNARY_GELU_TANH:   return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case VKR_UNARY_QUICK_GELU:  return x * sigmoid(1.702 * x);
    case VKR_UNARY_RELU:        return x > 0 ? x : 0;
    case VKR_UNARY_LEAKY_RELU:  return x >= 0 ? x : p0 * x;
    case VKR_UNARY_TANH:        return tanh(x);
    case VKR_UNARY_SIGMOID:     return sigmoid(x);
    case VKR_UNARY_FILL:        return p0;
    case VKR_UNARY_CLAMP:       return fmin(fmax(x, p0), p1);
    default:                    return NAN;
    }
}

/* Offset of out-index (i0..i4) in t, broadcasting t's unit dims. */
static int64_t at(const vkr_host_tensor *t, const int64_t i[5])
{
    int64_t o = 0;
    for (int d = 0; d < 5; d++)
        o += (t->ne[d] == 1 ? 0 : i[d]) * t->nb[d];
    return o;
}

#define FOR5(ne, i)                                                                                \
    for (i[0] = 0; i[0] < ne[0]; i[0]++)                                                           \
        for (i[1] = 0; i[1] < ne[1]; i[1]++)                                                       \
            for (i[2] = 0; i[2] < ne[2]; i[2]++)                                                   \
                for (i[3] = 0; i[3] < ne[3]; i[3]++)                                               \
                    for (i[4] = 0; i[4] < ne[4]; i[4]++)

void vkr_ref_unary(vkr_unary_op op, const vkr_host_tensor *x, const vkr_host_tensor *out, float p0, float p1)
{
    int64_t i[5];
    FOR5(out->ne, i)
    out->data[at(out, i)] = (float)vkr_ref_unary_value(op, x->data[at(x, i)], p0, p1);
}

void vkr_ref_binary(vkr_binary_op op, const vkr_host_tensor *a, const vkr_host_tensor *b, const vkr_host_tensor *out)
{
    int64_t i[5];
    FOR5(out->ne, i)
    {
        double x = a->data[at(a, i)], y = b->data[at(b, i)], r;
        switch (op) {
        case VKR_BINARY_ADD: r = x + y; break;
        case VKR_BINARY_SUB: r = x - y; break;
        case VKR_BINARY_MUL: r = x * y; break;
        case VKR_BINARY_DIV: r = x / y; break;
        default:             r = NAN; break;
        }
        out->data[at(out, i)] = (float)r;
    }
}
