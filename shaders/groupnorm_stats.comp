/* Group norm, pass 1: Welford partial statistics (count, mean, M2) of one
 * (n, group, frame) slot per workgroup, over the group's C/G channels and the
 * frame's H x W. Per-invocation Welford, then Chan's merge across the
 * workgroup, so the result is numerically sound for any group size. The slots
 * are combined later (per frame, or over all frames -- possibly computed in
 * several frame chunks) by groupnorm_combine.comp / groupnorm_apply.comp.
 * x: A_TYPE storage, any strides; stats: f32, slot = 3 consecutive floats. */
#version 450
#include "common.glsl"
#include "reduce_vec4.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint VEC4 = 0; /* H*W contiguous, 4-aligned: vec4 loads */
#include "reduce_common.glsl"

layout(std430, binding = 0) readonly buffer BufX { A_T x[]; };
layout(std430, binding = 0) readonly buffer BufX4 { A_T4 x4[]; };
layout(std430, binding = 1) writeonly buffer BufS { float s[]; };

layout(push_constant) uniform Push {
    uint ne_n, ne_g, ne_f, cg, ne_h, ne_w;
    uint nb_x[5];
    uint off_x, off_s;
    uint nb_s[3]; /* slot strides (floats) along n, group, frame */
} p;

void main()
{
    uint slot = VKR_GROUP_INDEX();
    if (slot >= p.ne_n * p.ne_g * p.ne_f)
        return; /* whole workgroup: uniform */
    uint f = slot % p.ne_f, ng = slot / p.ne_f;
    uint g = ng % p.ne_g, n = ng / p.ne_g;
    uint t = gl_LocalInvocationID.x, hw = p.ne_h * p.ne_w;
    uint k = 0;
    float mean = 0.0, m2 = 0.0;
    float cnt = 0.0;
    for (uint c = 0; c < p.cg && VEC4 != 0; c++) {
        uint base = (p.off_x + n * p.nb_x[0] + (g * p.cg + c) * p.nb_x[1] + f * p.nb_x[2]) / 4;
        for (uint j = t; j < hw / 4; j += gl_WorkGroupSize.x) {
            /* exact (count 4, mean, M2) of the 4 values, merged with Chan */
            vec4 v = A_LOAD4(x4[base + j]);
            float m4 = ((v.x + v.y) + (v.z + v.w)) * 0.25;
            vec4 d = v - m4;
            vkr_chan_merge(cnt, mean, m2, 4.0, m4, dot(d, d));
        }
    }
    for (uint c = 0; c < p.cg && VEC4 == 0; c++) {
        uint base = p.off_x + n * p.nb_x[0] + (g * p.cg + c) * p.nb_x[1] + f * p.nb_x[2];
        for (uint j = t; j < hw; j += gl_WorkGroupSize.x) {
            uint idx;
            if (p.ne_h == 1) {
                idx = base + j * p.nb_x[4];
            } else {
                uint h = j / p.ne_w;
                idx = base + h * p.nb_x[3] + (j - h * p.ne_w) * p.nb_x[4];
            }
            float v = A_LOAD(x[idx]);
            k++;
            float d = v - mean;
            mean += d / float(k);
            m2 += d * (v - mean);
        }
    }
    if (VEC4 == 0)
        cnt = float(k);
    vkr_wg_welford(cnt, mean, m2);
    if (t == 0) {
        uint o = p.off_s + n * p.nb_s[0] + g * p.nb_s[1] + f * p.nb_s[2];
        s[o] = cnt;
        s[o + 1] = mean;
        s[o + 2] = m2;
    }
}
