/* Batched matmul on cooperative-matrix units (VK_KHR_cooperative_matrix):
 * f16 A and B, f32 accumulators; same operands, strides, epilogue and push
 * constants as matmul.comp. The matrix shape CM x CN x CK is one the device
 * reports (specialization constants set by gpu/ops_matmul.c).
 *
 * A workgroup is 2 x 2 subgroups; each subgroup owns 2 x 2 accumulator
 * matrices, so the workgroup tile is BM = 4 CM by BN = 4 CN, with K staged in
 * BK = 2 CK slices. Operands are staged through shared memory as f16 (any
 * strides, zero-filled edges), the accumulators go back through shared memory
 * as f32 so the epilogue (scale, bias, activation, residual, edge guards,
 * output strides) is the same scalar code as the tiled kernel.
 *
 * Compiled only when glslc supports GL_KHR_cooperative_matrix
 * (shaders/family_matmul.cmake); selected only when the device supports it. */
#version 450
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common.glsl"
#include "activations.glsl"

layout(local_size_x_id = 0) in; /* 4 subgroups */
layout(constant_id = 1) const uint CM = 16;
layout(constant_id = 2) const uint CN = 16;
layout(constant_id = 3) const uint CK = 16;
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

const uint BM = 4 * CM, BN = 4 * CN, BK = 2 * CK;
const uint WG = gl_WorkGroupSize.x;

shared float16_t As[BM * BK]; /* row-major [m][k] */
shared float16_t Bs[BK * BN]; /* row-major [k][n] */
shared float Cs[BM * BN];

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
    const uint sg = gl_SubgroupID, sm = sg / 2, sn = sg % 2;

    coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator> acc[4];
    for (uint i = 0; i < 4; i++)
        acc[i] = coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator>(0.0);

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        for (uint i = lid; i < BM * BK; i += WG) {
            uint mm = i / BK, kk = i % BK, gm = m0 + mm, gk = k0 + kk;
            As[i] = float16_t(gm < p.M && gk < p.K ? A_LOAD(a[base_a + gm * p.sa_m + gk * p.sa_k]) : 0.0);
        }
        for (uint i = lid; i < BK * BN; i += WG) {
            uint kk = i / BN, nn = i % BN, gn = n0 + nn, gk = k0 + kk;
            Bs[i] = float16_t(gn < p.N && gk < p.K ? B_LOAD(b[base_b + gk * p.sb_k + gn * p.sb_n]) : 0.0);
        }
        barrier();
        for (uint kk = 0; kk < BK; kk += CK) {
            coopmat<float16_t, gl_ScopeSubgroup, CM, CK, gl_MatrixUseA> ma[2];
            coopmat<float16_t, gl_ScopeSubgroup, CK, CN, gl_MatrixUseB> mb[2];
            for (uint i = 0; i < 2; i++)
                coopMatLoad(ma[i], As, (sm * 2 * CM + i * CM) * BK + kk, BK, gl_CooperativeMatrixLayoutRowMajor);
            for (uint j = 0; j < 2; j++)
                coopMatLoad(mb[j], Bs, kk * BN + sn * 2 * CN + j * CN, BN, gl_CooperativeMatrixLayoutRowMajor);
            for (uint i = 0; i < 2; i++)
                for (uint j = 0; j < 2; j++)
                    acc[i * 2 + j] = coopMatMulAdd(ma[i], mb[j], acc[i * 2 + j]);
        }
        barrier();
    }
    for (uint i = 0; i < 2; i++)
        for (uint j = 0; j < 2; j++)
            coopMatStore(acc[i * 2 + j], Cs, (sm * 2 * CM + i * CM) * BN + sn * 2 * CN + j * CN, BN,
                         gl_CooperativeMatrixLayoutRowMajor);
    barrier();

    const uint base_c = p.off_c + z0 * p.bc0 + z1 * p.bc1;
    const uint base_r = p.off_res + z0 * p.br0 + z1 * p.br1;
    for (uint e = lid; e < BM * BN; e += WG) {
        uint gm = m0 + e / BN, gn = n0 + e % BN;
        if (gm >= p.M || gn >= p.N)
            continue;
        float v = Cs[e] * p.scale;
        if ((FLAGS & MM_BIAS) != 0)
            v += B_LOAD(bias[p.off_bias + gn * p.s_bias]);
        v = activation(v);
        if ((FLAGS & MM_RESIDUAL) != 0)
            v += D_LOAD(res[base_r + gm * p.sr_m + gn * p.sr_n]);
        c[base_c + gm * p.sc_m + gn * p.sc_n] = D_STORE(v);
    }
}
