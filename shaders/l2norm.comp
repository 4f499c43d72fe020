/* L2 normalisation over the last dim: y = x / max(||x||_2, eps), as
 * torch.nn.functional.normalize(x, p=2, dim=-1) (eps 1e-12 there). One
 * workgroup per row. x: A_TYPE, y: D_TYPE, any strides; y may be x. */
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
#include "reduce_common.glsl"

layout(std430, binding = 0) readonly buffer BufX { A_T x[]; };
layout(std430, binding = 1) writeonly buffer BufY { D_T y[]; };

layout(push_constant) uniform Push {
    uint ne[5];
    uint nb_x[5], nb_y[5];
    uint off_x, off_y;
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
    float acc = 0.0;
    for (uint w = t; w < n; w += gl_WorkGroupSize.x) {
        float v = A_LOAD(x[bx + w * p.nb_x[4]]);
        acc += v * v;
    }
    float norm = max(sqrt(vkr_wg_sum(acc)), p.eps);
    for (uint w = t; w < n; w += gl_WorkGroupSize.x)
        y[by + w * p.nb_y[4]] = D_STORE(A_LOAD(x[bx + w * p.nb_x[4]]) / norm);
}
