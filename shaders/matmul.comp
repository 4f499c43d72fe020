/* Batched matmul, register-tiled through shared memory (the portable variant):
 *   C[b] = act(scale * A[b] . B[b] + bias) + residual[b]
 * A[b] is M x K, B[b] is K x N, both read through arbitrary element strides
 * (a transposed operand is just swapped strides; PyTorch Linear weights (N, K)
 * give B with sb_k = 1). Storage: A and C (and the residual) A_TYPE/D_TYPE,
 * B (and the bias) B_TYPE; f32 accumulation.
 *
 * One workgroup computes a BM x BN tile of C, stepping over K in BK slices that
 * are staged in shared memory as f32 (converted once on load). Each invocation
 * owns TM x TN outputs: TM consecutive rows and TN columns strided by BN/TN,
 * so neighbouring invocations write neighbouring columns (coalesced stores)
 * and read neighbouring shared-memory words (no bank conflicts). The tile
 * shape is a set of specialization constants chosen per device and per shape
 * by gpu/ops_matmul.c (vkr_matmul_plan). Edges are guarded by zero-filling the
 * staged tiles, so the inner loop never branches.
 *
 * Grid: x = N tiles, y = M tiles, z = batch (b0 * nb1 + b1). */
#version 450
#include "common.glsl"
#include "activations.glsl"

layout(local_size_x_id = 0) in; /* = (BM / TM) * (BN / TN) */
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
layout(constant_id = 6) const uint ACT = 0;   /* vkr_unary_op: 0 none, 2 silu, 3 gelu, 4 gelu_tanh, ... */
layout(constant_id = 7) const uint FLAGS = 0; /* VKR_MM_* bits below */

#define MM_BIAS 1u      /* add bias[n] */
#define MM_RESIDUAL 2u  /* add residual[b][m][n] after the activation */
#define MM_A_KFAST 4u   /* A's k stride is 1: stage A with k fastest */
#define MM_B_KFAST 8u   /* B's k stride is 1 (x . W^T): stage B with k fastest */

layout(std430, binding = 0) readonly buffer BufA { A_T a[]; };
layout(std430, binding = 1) readonly buffer BufB { B_T b[]; };
layout(std430, binding = 2) readonly buffer BufBias { B_T bias[]; };
layout(std430, binding = 3) readonly buffer BufRes { D_T res[]; };
layout(std430, binding = 4) writeonly buffer BufC { D_T c[]; };

layout(push_constant) uniform Push {
    uint M, N, K;
    uint off_a, off_b, off_c, off_bias, off_res;
    uint sa_m, sa_k, sb_k, sb_n, sc_m, sc_n, sr_m, sr_n, s_bias;
    uint nb1; /* inner batch extent */
    uint ba0, ba1, bb0, bb1, bc0, bc1, br0, br1; /* batch strides (outer, inner) */
    float scale;
} p;

const uint TX = BN / TN; /* invocations along N */
const uint WG = (BM / TM) * TX;

shared float As[BK * BM]; /* [k][m] */
shared float Bs[BK * BN]; /* [k][n] */

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
    const uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;
    const uint z = gl_WorkGroupID.z, z0 = z / p.nb1, z1 = z - z0 * p.nb1;
    const uint base_a = p.off_a + z0 * p.ba0 + z1 * p.ba1;
    const uint base_b = p.off_b + z0 * p.bb0 + z1 * p.bb1;
    const uint tx = lid % TX, ty = lid / TX;

    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++)
        acc[i] = 0.0;

    const bool full_mn = m0 + BM <= p.M && n0 + BN <= p.N;
    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        const bool full = full_mn && k0 + BK <= p.K;
        /* stage A[m0.., k0..] as As[k][m] */
        for (uint i = lid; i < BM * BK; i += WG) {
            uint mm, kk;
            if ((FLAGS & MM_A_KFAST) != 0) {
                kk = i % BK, mm = i / BK;
            } else {
                mm = i % BM, kk = i / BM;
            }
            uint gm = m0 + mm, gk = k0 + kk;
            float v = 0.0;
            if (full || (gm < p.M && gk < p.K))
                v = A_LOAD(a[base_a + gm * p.sa_m + gk * p.sa_k]);
            As[kk * BM + mm] = v;
        }
        /* stage B[k0.., n0..] as Bs[k][n] */
        for (uint i = lid; i < BN * BK; i += WG) {
            uint nn, kk;
            if ((FLAGS & MM_B_KFAST) != 0) {
                kk = i % BK, nn = i / BK;
            } else {
                nn = i % BN, kk = i / BN;
            }
            uint gn = n0 + nn, gk = k0 + kk;
            float v = 0.0;
            if (full || (gn < p.N && gk < p.K))
                v = B_LOAD(b[base_b + gk * p.sb_k + gn * p.sb_n]);
            Bs[kk * BN + nn] = v;
        }
        barrier();
        for (uint kk = 0; kk < BK; kk++) {
            float av[TM], bv[TN];
            for (uint i = 0; i < TM; i++)
                av[i] = As[kk * BM + ty * TM + i];
            for (uint j = 0; j < TN; j++)
                bv[j] = Bs[kk * BN + tx + j * TX];
            for (uint i = 0; i < TM; i++)
                for (uint j = 0; j < TN; j++)
                    acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
        }
        barrier();
    }

    const uint base_c = p.off_c + z0 * p.bc0 + z1 * p.bc1;
    const uint base_r = p.off_res + z0 * p.br0 + z1 * p.br1;
    for (uint i = 0; i < TM; i++) {
        uint gm = m0 + ty * TM + i;
        if (gm >= p.M)
            break;
        for (uint j = 0; j < TN; j++) {
            uint gn = n0 + tx + j * TX;
            if (gn >= p.N)
                break;
            float v = acc[i * TN + j] * p.scale;
            if ((FLAGS & MM_BIAS) != 0)
                v += B_LOAD(bias[p.off_bias + gn * p.s_bias]);
            v = activation(v);
            if ((FLAGS & MM_RESIDUAL) != 0)
                v += D_LOAD(res[base_r + gm * p.sr_m + gn * p.sr_n]);
            c[base_c + gm * p.sc_m + gn * p.sc_n] = D_STORE(v);
        }
    }
}
