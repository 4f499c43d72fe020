/* Sum (MEAN = 0) or mean (MEAN = 1) over the last dim: y[row] = sum_w x[row, w]
 * (/ W). Other dims are reduced by permuting the view on the host so the
 * reduced dim comes last. One workgroup per row; per-invocation partial sums
 * then a tree over the workgroup (pairwise-like error growth). */
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint MEAN = 0;
#include "reduce_common.glsl"

layout(std430, binding = 0) readonly buffer BufX { A_T x[]; };
layout(std430, binding = 1) writeonly buffer BufY { D_T y[]; };

layout(push_constant) uniform Push {
    uint ne[5];
    uint nb_x[5], nb_y[5];
    uint off_x, off_y;
    uint rows;
} p;

void main()
{
    uint row = VKR_GROUP_INDEX();
    if (row >= p.rows)
        return;
    uint rc[4];
    vkr_row_coords(row, p.ne, rc);
    uint bx = p.off_x + vkr_row_offset(rc, p.nb_x);
    uint t = gl_LocalInvocationID.x, n = p.ne[4];
    float acc = 0.0;
    for (uint w = t; w < n; w += gl_WorkGroupSize.x)
        acc += A_LOAD(x[bx + w * p.nb_x[4]]);
    float r = vkr_wg_sum(acc);
    if (MEAN != 0)
        r /= float(n);
    if (t == 0)
        y[p.off_y + vkr_row_offset(rc, p.nb_y)] = D_STORE(r);
}
