/* Numerically stable softmax over the last dim of v = x * scale (+ mask):
 * y = exp(v - max v) / sum exp(v - max v). The additive mask (B_TYPE) may
 * broadcast (strides 0). One workgroup per row: max pass, sum pass, write
 * pass. A row whose values are all -inf gives NaN, as torch. VEC4 = 1:
 * contiguous 4-aligned rows (host-checked). x: A_TYPE, y: D_TYPE, any
 * strides; y may be x. */
#version 450
#include "common.glsl"
#include "reduce_vec4.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HAS_MASK = 0;
layout(constant_id = 2) const uint VEC4 = 0;
#include "reduce_common.glsl"

layout(std430, binding = 0) readonly buffer BufX { A_T x[]; };
layout(std430, binding = 1) readonly buffer BufM { B_T m[]; };
layout(std430, binding = 2) writeonly buffer BufY { D_T y[]; };
layout(std430, binding = 0) readonly buffer BufX4 { A_T4 x4[]; };
layout(std430, binding = 1) readonly buffer BufM4 { B_T4 m4[]; };
layout(std430, binding = 2) writeonly buffer BufY4 { D_T4 y4[]; };

layout(push_constant) uniform Push {
    uint ne[5];
    uint nb_x[5], nb_m[5], nb_y[5];
    uint off_x, off_m, off_y;
    uint rows;
    float scale;
} p;

float val(uint bx, uint bm, uint w)
{
    float v = A_LOAD(x[bx + w * p.nb_x[4]]) * p.scale;
    if (HAS_MASK != 0)
        v += B_LOAD(m[bm + w * p.nb_m[4]]);
    return v;
}

vec4 val4(uint bx, uint bm, uint w)
{
    vec4 v = A_LOAD4(x4[bx / 4 + w]) * p.scale;
    if (HAS_MASK != 0)
        v += B_LOAD4(m4[bm / 4 + w]);
    return v;
}

void main()
{
    uint row = VKR_GROUP_INDEX();
    if (row >= p.rows)
        return;
    uint rc[4];
    vkr_row_coords(row, p.ne, rc);
    uint bx = p.off_x + vkr_row_offset(rc, p.nb_x), by = p.off_y + vkr_row_offset(rc, p.nb_y);
    uint bm = p.off_m + vkr_row_offset(rc, p.nb_m);
    uint t = gl_LocalInvocationID.x, n = p.ne[4], WG = gl_WorkGroupSize.x;
    float mx = uintBitsToFloat(0xff800000u); /* -inf */
    if (VEC4 != 0) {
        for (uint w = t; w < n / 4; w += WG) {
            vec4 v = val4(bx, bm, w);
            mx = max(mx, max(max(v.x, v.y), max(v.z, v.w)));
        }
    } else {
        for (uint w = t; w < n; w += WG)
            mx = max(mx, val(bx, bm, w));
    }
    mx = vkr_wg_max(mx);
    float acc = 0.0;
    if (VEC4 != 0) {
        for (uint w = t; w < n / 4; w += WG) {
            vec4 e = exp(val4(bx, bm, w) - mx);
            acc += (e.x + e.y) + (e.z + e.w);
        }
    } else {
        for (uint w = t; w < n; w += WG)
            acc += exp(val(bx, bm, w) - mx);
    }
    float inv = 1.0 / vkr_wg_sum(acc);
    if (VEC4 != 0) {
        for (uint w = t; w < n / 4; w += WG)
            y4[by / 4 + w] = D_STORE4(exp(val4(bx, bm, w) - mx) * inv);
    } else {
        for (uint w = t; w < n; w += WG)
            y[by + w * p.nb_y[4]] = D_STORE(exp(val(bx, bm, w) - mx) * inv);
    }
}
