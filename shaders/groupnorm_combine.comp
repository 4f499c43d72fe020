/* Group norm: combines the per-frame (count, mean, M2) slots of each
 * (n, group) into one slot with Chan's parallel formula, in frame order (so
 * the result does not depend on how the frames were chunked in pass 1).
 * One invocation per (n, group); stats are f32. */
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
#include "reduce_common.glsl"

layout(std430, binding = 0) readonly buffer BufS { float s[]; };
layout(std430, binding = 1) writeonly buffer BufD { float d[]; };

layout(push_constant) uniform Push {
    uint ne_n, ne_g, ne_f;
    uint off_s, off_d;
    uint nb_s[3], nb_d[3];
} p;

void main()
{
    uint i = VKR_GLOBAL_INDEX();
    if (i >= p.ne_n * p.ne_g)
        return;
    uint g = i % p.ne_g, n = i / p.ne_g;
    float cnt = 0.0, mean = 0.0, m2 = 0.0;
    for (uint f = 0; f < p.ne_f; f++) {
        uint o = p.off_s + n * p.nb_s[0] + g * p.nb_s[1] + f * p.nb_s[2];
        vkr_chan_merge(cnt, mean, m2, s[o], s[o + 1], s[o + 2]);
    }
    uint o = p.off_d + n * p.nb_d[0] + g * p.nb_d[1];
    d[o] = cnt;
    d[o + 1] = mean;
    d[o + 2] = m2;
}
