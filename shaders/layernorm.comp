/* Layer norm over the last dim (W): y = (x - mean) / sqrt(var + eps) * w + b,
 * torch.nn.LayerNorm (biased variance). One workgroup per row; two passes
 * over the row (shifted mean, then sum of squared deviations) -- the row is
 * re-read from cache, and the variance never suffers E[x^2] - E[x]^2
 * cancellation. VEC4 = 1: contiguous, 4-aligned rows and weights read and
 * written as vec4 (host-checked). x: A_TYPE, weight/bias: B_TYPE, y: D_TYPE;
 * any strides; y may be x. */
#version 450
#include "common.glsl"
#include "reduce_vec4.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint AFFINE = 1;
layout(constant_id = 2) const uint VEC4 = 0;
#include "reduce_common.glsl"

layout(std430, binding = 0) readonly buffer BufX { A_T x[]; };
layout(std430, binding = 1) readonly buffer BufG { B_T wt[]; };
layout(std430, binding = 2) readonly buffer BufB { B_T bs[]; };
layout(std430, binding = 3) writeonly buffer BufY { D_T y[]; };
layout(std430, binding = 0) readonly buffer BufX4 { A_T4 x4[]; };
layout(std430, binding = 1) readonly buffer BufG4 { B_T4 wt4[]; };
layout(std430, binding = 2) readonly buffer BufB4 { B_T4 bs4[]; };
layout(std430, binding = 3) writeonly buffer BufY4 { D_T4 y4[]; };

layout(push_constant) uniform Push {
    uint ne[5];
    uint nb_x[5], nb_y[5];
    uint off_x, off_y, off_g, off_b;
    uint nb_g, nb_b;
    uint rows;
    float eps;
} p;

void main()
{
    uint row = VKR_GROUP_INDEX();
    if (row >= p.rows)
        return;
    uint rc[4];
    vkr_row_coords(row, p.ne, rc);
    uint bx = p.off_x + vkr_row_offset(rc, p.nb_x), by = p.off_y + vkr_row_offset(rc, p.nb_y);
    uint t = gl_LocalInvocationID.x, n = p.ne[4], WG = gl_WorkGroupSize.x;
    /* sums of x - x[0]: with |mean| >> std, sum x in f32 would lose the
     * low bits of the mean (x = 300 +- 2 over 320 values: ~3e-5 error) */
    float shift = A_LOAD(x[bx]);
    float acc = 0.0;
    if (VEC4 != 0) {
        for (uint w = t; w < n / 4; w += WG) {
            vec4 v = A_LOAD4(x4[bx / 4 + w]) - shift;
            acc += (v.x + v.y) + (v.z + v.w);
        }
    } else {
        for (uint w = t; w < n; w += WG)
            acc += A_LOAD(x[bx + w * p.nb_x[4]]) - shift;
    }
    float mean = shift + vkr_wg_sum(acc) / float(n);
    acc = 0.0;
    if (VEC4 != 0) {
        for (uint w = t; w < n / 4; w += WG) {
            vec4 d = A_LOAD4(x4[bx / 4 + w]) - mean;
            acc += dot(d, d);
        }
    } else {
        for (uint w = t; w < n; w += WG) {
            float d = A_LOAD(x[bx + w * p.nb_x[4]]) - mean;
            acc += d * d;
        }
    }
    float rstd = inversesqrt(vkr_wg_sum(acc) / float(n) + p.eps);
    if (VEC4 != 0) {
        for (uint w = t; w < n / 4; w += WG) {
            vec4 v = (A_LOAD4(x4[bx / 4 + w]) - mean) * rstd;
            if (AFFINE != 0)
                v = v * B_LOAD4(wt4[p.off_g / 4 + w]) + B_LOAD4(bs4[p.off_b / 4 + w]);
            y4[by / 4 + w] = D_STORE4(v);
        }
    } else {
        for (uint w = t; w < n; w += WG) {
            float v = (A_LOAD(x[bx + w * p.nb_x[4]]) - mean) * rstd;
            if (AFFINE != 0)
                v = v * B_LOAD(wt[p.off_g + w * p.nb_g]) + B_LOAD(bs[p.off_b + w * p.nb_b]);
            y[by + w * p.nb_y[4]] = D_STORE(v);
        }
    }
}
