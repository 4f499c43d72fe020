/* Batched matmul for CPU Vulkan drivers (lavapipe/llvmpipe), for operands that
 * are contiguous along K (x . W^T with PyTorch (N, K) weights, the Linear
 * case). Same push constants and epilogue as matmul.comp.
 *
 * Why a separate kernel: llvmpipe runs a subgroup (8 invocations) as the lanes
 * of one SIMD register and turns every storage-buffer or shared-memory load
 * into a per-lane scalar loop, so loads, not FMAs, bound the tiled kernel.
 * Here no operand goes through shared memory and nothing is loaded twice by a
 * subgroup: lane l loads 8 consecutive K values of row m0 + l of A and of its
 * TN columns of B (16-byte loads when aligned: 2 per 8 f32, 1 per 8 f16/bf16), then the 8 rows are spread across the lanes with
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
layout(constant_id = 2) const uint WIDE = 0; /* bit 0 A, bit 1 B: 16-byte aligned rows, load 16 bytes at a time */
layout(constant_id = 6) const uint ACT = 0;
layout(constant_id = 7) const uint FLAGS = 0;

#define MM_BIAS 1u
#define MM_RESIDUAL 2u

layout(std430, binding = 0) readonly buffer BufA { A_T a[]; };
layout(std430, binding = 0) readonly buffer BufAW { uvec4 aw[]; };
layout(std430, binding = 1) readonly buffer BufB { B_T b[]; };
layout(std430, binding = 1) readonly buffer BufBW { uvec4 bw[]; };
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

/* 8 consecutive values from a 16-byte aligned element index i of a wide view:
 * two uvec4 of f32, or one uvec4 of 8 f16/bf16 (half the loads, and on
 * llvmpipe the loads are the cost). */
void unpack8(uvec4 u, out vec4 lo, out vec4 hi, uint type)
{
    if (type == VKR_F16) {
        lo = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
        hi = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
    } else { /* bf16: the low half is the first element */
        lo = uintBitsToFloat(uvec4(u.x << 16, u.x & 0xffff0000u, u.y << 16, u.y & 0xffff0000u));
        hi = uintBitsToFloat(uvec4(u.z << 16, u.z & 0xffff0000u, u.w << 16, u.w & 0xffff0000u));
    }
}

void load8_a(uint i, out vec4 lo, out vec4 hi)
{
    if ((WIDE & 1u) != 0 && A_TYPE == VKR_F32) {
        lo = uintBitsToFloat(aw[i / 4]);
        hi = uintBitsToFloat(aw[i / 4 + 1]);
    } else if ((WIDE & 1u) != 0) {
        unpack8(aw[i / 8], lo, hi, A_TYPE);
    } else {
        lo = vec4(A_LOAD(a[i]), A_LOAD(a[i + 1]), A_LOAD(a[i + 2]), A_LOAD(a[i + 3]));
        hi = vec4(A_LOAD(a[i + 4]), A_LOAD(a[i + 5]), A_LOAD(a[i + 6]), A_LOAD(a[i + 7]));
    }
}

void load8_b(uint i, out vec4 lo, out vec4 hi)
{
    if ((WIDE & 2u) != 0 && B_TYPE == VKR_F32) {
        lo = uintBitsToFloat(bw[i / 4]);
        hi = uintBitsToFloat(bw[i / 4 + 1]);
    } else if ((WIDE & 2u) != 0) {
        unpack8(bw[i / 8], lo, hi, B_TYPE);
    } else {
        lo = vec4(B_LOAD(b[i]), B_LOAD(b[i + 1]), B_LOAD(b[i + 2]), B_LOAD(b[i + 3]));
        hi = vec4(B_LOAD(b[i + 4]), B_LOAD(b[i + 5]), B_LOAD(b[i + 6]), B_LOAD(b[i + 7]));
    }
}

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
#if TN == 4
#define STEP(av, bv, c) ROWS(av.c, vec4(bv[0].c, bv[1].c, bv[2].c, bv[3].c))
#else
#define STEP(av, bv, c) ROWS(av.c, vec2(bv[0].c, bv[1].c))
#endif
#define STEP4(av, bv) STEP(av, bv, x); STEP(av, bv, y); STEP(av, bv, z); STEP(av, bv, w)
    for (; k + 8 <= p.K; k += 8) {
        vec4 a_lo, a_hi, b_lo[TN], b_hi[TN];
        load8_a(ia + k, a_lo, a_hi);
        for (uint j = 0; j < TN; j++)
            load8_b(ib[j] + k, b_lo[j], b_hi[j]);
        STEP4(a_lo, b_lo);
        STEP4(a_hi, b_hi);
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
