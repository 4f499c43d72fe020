/* Nearest-neighbour upsampling over H and W (frames and channels untouched),
 * torch F.interpolate(mode="nearest") with an output size: source index =
 * dst >> 1 when out == 2 * in, dst when out == in, else
 * min(floor(dst * (float(in) / float(out))), in - 1) evaluated in f32 exactly
 * like ATen's nearest_idx (the host passes the f32 scale). One invocation per
 * output element. x: A_TYPE, y: D_TYPE, any strides. */
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer BufX { A_T x[]; };
layout(std430, binding = 1) writeonly buffer BufY { D_T y[]; };

layout(push_constant) uniform Push {
    uint ne[5]; /* output box */
    uint n;
    uint in_h, in_w;
    uint nb_x[5], nb_y[5];
    uint off_x, off_y;
    float scale_h, scale_w;
} p;

uint src_index(uint dst, uint in_size, uint out_size, float scale)
{
    if (out_size == in_size)
        return dst;
    if (out_size == 2 * in_size)
        return dst >> 1;
    precise float s = float(dst) * scale; /* one f32 rounding, as ATen */
    return min(uint(floor(s)), in_size - 1);
}

void main()
{
    uint i = VKR_GLOBAL_INDEX();
    if (i >= p.n)
        return;
    uint c[5];
    vkr_coords5(i, p.ne, c);
    uint yo = p.off_y + vkr_dot5(c, p.nb_y);
    c[3] = src_index(c[3], p.in_h, p.ne[3], p.scale_h);
    c[4] = src_index(c[4], p.in_w, p.ne[4], p.scale_w);
    y[yo] = D_STORE(A_LOAD(x[p.off_x + vkr_dot5(c, p.nb_x)]));
}
