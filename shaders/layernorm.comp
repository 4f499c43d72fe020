/* Layer norm over the last dim (W): y = (x - mean) / sqrt(var + eps) * w + b,
 * torch.nn.LayerNorm (biased variance). One workgroup per row; two passes
 * over the row (mean, then sum of squared deviations) -- the row is re-read
 * from cache, and the variance never suffers E[x^2] - E[x]^2 cancellation.
 * x: A_TYPE, weight/bias: B_TYPE, y: D_TYPE; any strides; y may be x. */
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint AFFINE = 1;
#include "reduce_common.glsl"

layout(std430, binding = 0) readonly buffer BufX { A_T x[]; };
layout(std430, binding = 1) readonly buffer BufG { B_T wt[]; };
layout(std430, binding = 2) readonly buffer BufB { B_T bs[]; };
layout(std430, binding = 3) writeonly buffer BufY { D_T y[]; };

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
    uint t = gl_LocalInvocationID.x, n = p.ne[4];
    /* sums of x - x[0]: with |mean| >> std, sum x in f32 would lose the
     * low bits of the mean (x = 300 +- 2 over 320 values: ~3e-5 error) */
    float shift = A_LOAD(x[bx]);
    float acc = 0.0;
    for (uint w = t; w < n; w += gl_WorkGroupSize.x)
        acc += A_LOAD(x[bx + w * p.nb_x[4]]) - shift;
    float mean = shift + vkr_wg_sum(acc) / float(n);
    acc = 0.0;
    for (uint w = t; w < n; w += gl_WorkGroupSize.x) {
        float d = A_LOAD(x[bx + w * p.nb_x[4]]) - mean;
        acc += d * d;
    }
    float rstd = inversesqrt(vkr_wg_sum(acc) / float(n) + p.eps);
    for (uint w = t; w < n; w += gl_WorkGroupSize.x) {
        float v = (A_LOAD(x[bx + w * p.nb_x[4]]) - mean) * rstd;
        if (AFFINE != 0)
            v = v * B_LOAD(wt[p.off_g + w * p.nb_g]) + B_LOAD(bs[p.off_b + w * p.nb_b]);
        y[by + w * p.nb_y[4]] = D_STORE(v);
    }
}
