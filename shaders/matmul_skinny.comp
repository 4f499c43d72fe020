/* Batched matmul for skinny products (M <= MAXM rows, e.g. the timestep MLP or
 * a pooled text embedding), same operands, strides, epilogue and push constants
 * as matmul.comp. A tiled kernel would leave most of a BM-row tile empty; here
 * one workgroup computes NW output columns for all M rows and its invocations
 * split K between them (stride WG), so every loop reads A and B along K with
 * neighbouring invocations on neighbouring elements (coalesced for row-major A
 * and PyTorch (N, K) weights). Partial sums meet in shared memory and a tree
 * reduction; no subgroup operations are needed, so it runs on every device.
 *
 * Grid: x = ceil(N / NW), y = 1, z = batch. */
#version 450
#include "common.glsl"
#include "activations.glsl"

layout(local_size_x_id = 0) in; /* WG: power of two */
layout(constant_id = 1) const uint MAXM = 8;
layout(constant_id = 2) const uint NW = 4;
layout(constant_id = 6) const uint ACT = 0;
layout(constant_id = 7) const uint FLAGS = 0;

#define MM_BIAS 1u
#define MM_RESIDUAL 2u

layout(std430, binding = 0) readonly buffer BufA { A_T a[]; };
layout(std430, binding = 1) readonly buffer BufB { B_T b[]; };
layout(std430, binding = 2) readonly buffer BufBias { B_T bias[]; };
layout(std430, binding = 3) readonly buffer BufRes { D_T res[]; };
layout(std430, binding = 4) writeonly buffer BufC { D_T c[]; };

layout(push_constant) uniform Push {
    uint M, N, K;
    uint off_a, off_b, off_c, off_bias, off_res;
    uint sa_m, sa_k, sb_k, sb_n, sc_m, sc_n, sr_m, sr_n, s_bias;
    uint nb1;
    uint ba0, ba1, bb0, bb1, bc0, bc1, br0, br1;
    float scale;
} p;

const uint WG = gl_WorkGroupSize.x;
shared float red[MAXM * NW * WG];

float activation(float x)
{
    switch (ACT) {
    case 2: return vkr_silu(x);
    case 3: return vkr_gelu_erf(x);
    case 4: return vkr_gelu_tanh(x);
    case 5: return vkr_quick_gelu(x);
    case 6: return max(x, 0.0);
    case 8: return vkr_tanh(x);
    case 9: return vkr_sigmoid(x);
    default: return x;
    }
}

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint n0 = gl_WorkGroupID.x * NW;
    const uint z = gl_WorkGroupID.z, z0 = z / p.nb1, z1 = z - z0 * p.nb1;
    const uint base_a = p.off_a + z0 * p.ba0 + z1 * p.ba1;
    const uint base_b = p.off_b + z0 * p.bb0 + z1 * p.bb1;

    float acc[MAXM * NW];
    for (uint i = 0; i < MAXM * NW; i++)
        acc[i] = 0.0;
    for (uint k = lid; k < p.K; k += WG) {
        float bv[NW];
        for (uint j = 0; j < NW; j++)
            bv[j] = n0 + j < p.N ? B_LOAD(b[base_b + k * p.sb_k + (n0 + j) * p.sb_n]) : 0.0;
        for (uint i = 0; i < MAXM; i++) {
            if (i >= p.M)
                break;
            float av = A_LOAD(a[base_a + i * p.sa_m + k * p.sa_k]);
            for (uint j = 0; j < NW; j++)
                acc[i * NW + j] = fma(av, bv[j], acc[i * NW + j]);
        }
    }
    for (uint o = 0; o < MAXM * NW; o++)
        red[o * WG + lid] = acc[o];
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (lid < s)
            for (uint o = 0; o < MAXM * NW; o++)
                red[o * WG + lid] += red[o * WG + lid + s];
        barrier();
    }

    const uint base_c = p.off_c + z0 * p.bc0 + z1 * p.bc1;
    const uint base_r = p.off_res + z0 * p.br0 + z1 * p.br1;
    for (uint o = lid; o < MAXM * NW; o += WG) {
        uint i = o / NW, gn = n0 + o % NW;
        if (i >= p.M || gn >= p.N)
            continue;
        float v = red[o * WG] * p.scale;
        if ((FLAGS & MM_BIAS) != 0)
            v += B_LOAD(bias[p.off_bias + gn * p.s_bias]);
        v = activation(v);
        if ((FLAGS & MM_RESIDUAL) != 0)
            v += D_LOAD(res[base_r + i * p.sr_m + gn * p.sr_n]);
        c[base_c + i * p.sc_m + gn * p.sc_n] = D_STORE(v);
    }
}
