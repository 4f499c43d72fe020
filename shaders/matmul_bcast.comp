/* Batched matmul for CPU Vulkan drivers (lavapipe/llvmpipe), for operands that
 * are contiguous along K (x . W^T with PyTorch (N, K) weights, the Linear
 * case). Same push constants and epilogue as matmul.comp.
 *
 * Why a separate kernel: llvmpipe runs a subgroup (8 invocations) as the lanes
 * of one SIMD register and turns every storage-buffer or shared-memory load
 * into a per-lane scalar loop, so loads, not FMAs, bound the tiled kernel.
 * Here no operand goes through shared memory and nothing is loaded twice by a
 * subgroup: lane l loads 4 consecutive K values of row m0 + l of A and of its
 * TN columns of B, then the 8 rows are spread across the lanes with
 * subgroupBroadcast (a register permute) and every lane does 8 x TN FMAs per K
 * value. No barriers either, so llvmpipe never switches coroutines.
 *
 * Tile per subgroup: 8 rows x (8 * TN) columns; SG subgroups per workgroup
 * stack along N. Grid: x = N tiles, y = M tiles (8 rows), z = batch. */
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#include "common.glsl"
#include "activations.glsl"

/* TN (columns per lane: 1, 2 or 4) is a compile-time define: the hand
 * unrolling below needs it in the preprocessor. CT holds one row's TN sums. */
#ifndef TN
#define TN 2
#endif
#if TN == 4
#define CT vec4
#elif TN == 2
#define CT vec2
#else
#error "TN must be 2 or 4"
#endif

layout(local_size_x_id = 0) in; /* 8 * SG */
layout(constant_id = 2) const uint VEC4 = 0; /* 1: f32 operands, 16-byte aligned rows: vec4 loads */
layout(constant_id = 6) const uint ACT = 0;
layout(constant_id = 7) const uint FLAGS = 0;

#define MM_BIAS 1u
#define MM_RESIDUAL 2u

layout(std430, binding = 0) readonly buffer BufA { A_T a[]; };
layout(std430, binding = 0) readonly buffer BufA4 { vec4 a4[]; };
layout(std430, binding = 1) readonly buffer BufB { B_T b[]; };
layout(std430, binding = 1) readonly buffer BufB4 { vec4 b4[]; };
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
    const uint lane = gl_LocalInvocationID.x % 8, sg = gl_LocalInvocationID.x / 8;
    const uint SG = gl_WorkGroupSize.x / 8;
    const uint n0 = (gl_WorkGroupID.x * SG + sg) * 8 * TN, m0 = gl_WorkGroupID.y * 8;
    const uint z = gl_WorkGroupID.z, z0 = z / p.nb1, z1 = z - z0 * p.nb1;
    /* out-of-range rows/columns read a valid row/column; their results are not stored */
    const uint row = min(m0 + lane, p.M - 1);
    const uint ia = p.off_a + z0 * p.ba0 + z1 * p.ba1 + row * p.sa_m;
    uint ib[TN];
    for (uint j = 0; j < TN; j++)
        ib[j] = p.off_b + z0 * p.bb0 + z1 * p.bb1 + min(n0 + lane + 8 * j, p.N - 1) * p.sb_n;

    /* Every loop below is unrolled by hand: llvmpipe keeps arrays indexed by a
     * loop counter in memory (per-lane gathers), so acc, av and bv must only
     * ever be indexed by constants. */
    CT acc[8];
    for (uint i = 0; i < 8; i++)
        acc[i] = CT(0.0);
    uint k = 0;
#define ROW(i, x, col) acc[i] = fma(CT(subgroupBroadcast(x, i)), col, acc[i])
#define ROWS(x, col) ROW(0, x, col); ROW(1, x, col); ROW(2, x, col); ROW(3, x, col); \
                     ROW(4, x, col); ROW(5, x, col); ROW(6, x, col); ROW(7, x, col)
    for (; k + 4 <= p.K; k += 4) {
        vec4 av;
        vec4 bv[TN];
        if (VEC4 != 0) {
            av = a4[(ia + k) / 4];
            for (uint j = 0; j < TN; j++)
                bv[j] = b4[(ib[j] + k) / 4];
        } else {
            av = vec4(A_LOAD(a[ia + k]), A_LOAD(a[ia + k + 1]), A_LOAD(a[ia + k + 2]), A_LOAD(a[ia + k + 3]));
            for (uint j = 0; j < TN; j++)
                bv[j] = vec4(B_LOAD(b[ib[j] + k]), B_LOAD(b[ib[j] + k + 1]), B_LOAD(b[ib[j] + k + 2]),
                             B_LOAD(b[ib[j] + k + 3]));
        }
#if TN == 4
        ROWS(av.x, vec4(bv[0].x, bv[1].x, bv[2].x, bv[3].x));
        ROWS(av.y, vec4(bv[0].y, bv[1].y, bv[2].y, bv[3].y));
        ROWS(av.z, vec4(bv[0].z, bv[1].z, bv[2].z, bv[3].z));
        ROWS(av.w, vec4(bv[0].w, bv[1].w, bv[2].w, bv[3].w));
#else
        ROWS(av.x, vec2(bv[0].x, bv[1].x));
        ROWS(av.y, vec2(bv[0].y, bv[1].y));
        ROWS(av.z, vec2(bv[0].z, bv[1].z));
        ROWS(av.w, vec2(bv[0].w, bv[1].w));
#endif
    }
    for (; k < p.K; k++) {
        float av = A_LOAD(a[ia + k]);
        CT bv;
        for (uint j = 0; j < TN; j++)
            bv[j] = B_LOAD(b[ib[j] + k]);
        ROWS(av, bv);
    }

    const uint base_c = p.off_c + z0 * p.bc0 + z1 * p.bc1;
    const uint base_r = p.off_res + z0 * p.br0 + z1 * p.br1;
    for (uint i = 0; i < 8; i++) {
        uint gm = m0 + i;
        for (uint j = 0; j < TN; j++) {
            uint gn = n0 + lane + 8 * j;
            if (gm < p.M && gn < p.N) {
                float v = acc[i][j] * p.scale;
                if ((FLAGS & MM_BIAS) != 0)
                    v += B_LOAD(bias[p.off_bias + gn * p.s_bias]);
                v = activation(v);
                if ((FLAGS & MM_RESIDUAL) != 0)
                    v += D_LOAD(res[base_r + gm * p.sr_m + gn * p.sr_n]);
                c[base_c + gm * p.sc_m + gn * p.sc_n] = D_STORE(v);
            }
        }
    }
}
