/* Fused attention, flash-attention style:
 *   O[b,h,i,:] = softmax_j(scale * Q[b,h,i,:] . K[b,h,j,:] + mask[b,h,i,j]) V[b,h,j,:]
 * without ever storing the Lq x Lk score matrix. A workgroup owns RS*R query
 * rows of each of SEQS (batch, head) sequences, streams BC keys at a time
 * through shared memory (converted to f32) and keeps, per row, the running max
 * m, the running sum l and the un-normalised output in f32 registers (online
 * softmax: when the max grows, everything accumulated so far is rescaled by
 * exp(m_old - m_new), lazily, see TAU). O is written once, divided by l.
 *
 * Exponentials are base 2: q is pre-multiplied by scale * log2(e) (and the mask
 * by log2(e)), which is exact up to rounding and saves a multiply per score.
 * Scores are clamped at NEG = -1e30 so a mask of -inf behaves like torch's
 * finfo.min masks (a fully masked row averages V uniformly instead of NaN), and
 * no infinity ever enters the arithmetic. Keys outside [0, Lk) or above the
 * causal diagonal get probability exactly 0.
 *
 * Thread mapping (spec constants chosen by gpu/ops_attention.c):
 *   plain variant:     each invocation owns R query rows (T = 1): R = 1 on
 *                      GPUs; on CPU devices R = 8 (fewer for big head dims)
 *                      so each K/V element loaded from shared memory feeds R
 *                      rows (lavapipe loads lane by lane inside loops, while
 *                      its arithmetic is 8-wide SIMD). Row reductions (max,
 *                      sum over keys) are sequential inside the invocation.
 *   USE_SUBGROUP:      one SUBGROUP per query row, T = gl_SubgroupSize lanes
 *                      each taking every T-th key of a block with its own
 *                      online softmax state; the states are merged at the end
 *                      with subgroupMax / subgroupAdd. For problems with few
 *                      query rows (short Lq, long Lk) this gives T times the
 *                      parallelism of the plain variant.
 * Head dims are padded to DV vec4s with zeros in q and the K/V tiles, so any
 * head dim 1..4*DV works (a small dim wastes a few lanes of a vec4, nothing
 * else).
 *
 * Operands: q, k, v, mask, o all have this storage type (A_TYPE). Each is a
 * strided [B, H, L, D] view (element strides in push constants), so head
 * split/merge and temporal (B*H*W, F, C) views need no copies. */
#version 450
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DV = 16;  /* head dim capacity in vec4s */
layout(constant_id = 2) const uint BC = 64;  /* keys per shared-memory block */
layout(constant_id = 3) const uint RS = 64;  /* row slots (lanes, or subgroups) per sequence per workgroup */
layout(constant_id = 4) const uint SEQS = 1; /* sequences per workgroup */
layout(constant_id = 5) const uint T = 1;    /* lanes per row (subgroup variant: the subgroup size) */
layout(constant_id = 6) const uint R = 1;    /* query rows per lane (register tile; rows r*RS + slot) */

layout(std430, binding = 0) readonly buffer BufQ { A_T q[]; };
layout(std430, binding = 1) readonly buffer BufK { A_T k[]; };
layout(std430, binding = 2) readonly buffer BufV { A_T v[]; };
layout(std430, binding = 3) readonly buffer BufM { A_T mask[]; };
layout(std430, binding = 4) writeonly buffer BufO { A_T o[]; };

/* Exactly 128 bytes (= ops_attention.c attention_push). Strides: [b, h, l, d]
 * for q/k/v/o, [b, h, i, j] for the mask (0 = broadcast). */
layout(push_constant) uniform Push {
    uint H, BH, Lq, Lk;
    uint D, flags; /* bit 0 causal, bit 1 mask, bits 2..31: index of row 0 (the op splits rows) */
    float scale_log2;
    uint off_q, off_k, off_v, off_o, off_m;
    uint nq[4], nk[4], nv[4], no[4], nm[4];
} p;

const float NEG = -1.0e30;
const float LOG2E = 1.4426950408889634;
/* Lazy rescaling: the running max m is only raised when a score exceeds it by
 * more than TAU (log2 units), so the accumulator is rescaled a handful of
 * times per row instead of at every key; meanwhile p = exp2(s - m) <= 2^TAU,
 * harmless in f32. The result is exact either way (O = acc / l with the same m). */
const float TAU = 8.0;

/* K block at [0, SEQS*BC*DV), V block after it. Before the key loop the same
 * memory stages the q rows, after it the output rows (the host keeps
 * R*RS <= 2*BC), so global reads and writes are cooperative and coalesced. */
shared vec4 KV[SEQS * 2 * BC * DV];
const uint VOFF = SEQS * BC * DV;

void main()
{
    const uint WG = gl_WorkGroupSize.x;
    const uint lid = gl_LocalInvocationID.x;
    const uint RQ = RS * R; /* query rows per sequence per workgroup */
    const uint nqb = (p.Lq + RQ - 1) / RQ;
    const uint g = VKR_GROUP_INDEX();
    const uint sg = g / nqb, qb = g - sg * nqb;
    if (sg * SEQS >= p.BH)
        return; /* whole workgroup: the grid was rounded up */
#ifdef USE_SUBGROUP
    const uint t = gl_SubgroupInvocationID, rloc = gl_SubgroupID; /* T == gl_SubgroupSize */
#else
    const uint t = 0, rloc = lid;
#endif
    const uint slot = rloc / RS, rs = rloc - slot * RS;
    const uint bh = min(sg * SEQS + slot, p.BH - 1);
    const uint b = bh / p.H, h = bh - b * p.H;
    const bool causal = (p.flags & 1u) != 0, has_mask = (p.flags & 2u) != 0;
    const uint row0 = p.flags >> 2; /* causal diagonal: global row = row0 + i */

    /* stage the workgroup's q rows (pre-scaled) */
    for (uint idx = lid; idx < SEQS * RQ * DV; idx += WG) {
        uint c = idx % DV, rest = idx / DV, rr = rest % RQ, s = rest / RQ;
        uint bh2 = min(sg * SEQS + s, p.BH - 1), b2 = bh2 / p.H, h2 = bh2 - b2 * p.H;
        uint qofs = p.off_q + b2 * p.nq[0] + h2 * p.nq[1] + min(qb * RQ + rr, p.Lq - 1) * p.nq[2];
        vec4 x = vec4(0.0);
        [[unroll]] for (uint e = 0; e < 4; e++) {
            uint d = 4 * c + e;
            if (d < p.D)
                x[e] = A_LOAD(q[qofs + d * p.nq[3]]);
        }
        KV[idx] = x * p.scale_log2;
    }
    barrier();
    vec4 qr[R * DV], acc[R * DV];
    float m[R], l[R];
    uint mbase[R];
    [[unroll]] for (uint r = 0; r < R; r++) {
        const uint ic = min(qb * RQ + r * RS + rs, p.Lq - 1); /* idle lanes compute a valid row, store nothing */
        [[unroll]] for (uint c = 0; c < DV; c++) {
            qr[r * DV + c] = KV[(slot * RQ + r * RS + rs) * DV + c];
            acc[r * DV + c] = vec4(0.0);
        }
        m[r] = NEG;
        l[r] = 0.0;
        mbase[r] = p.off_m + b * p.nm[0] + h * p.nm[1] + ic * p.nm[2];
    }

    /* Causal: no key beyond the workgroup's last row is ever needed. */
    const uint kend = causal ? min(p.Lk, row0 + min(qb * RQ + RQ, p.Lq)) : p.Lk;
    for (uint kb = 0; kb < kend; kb += BC) {
        barrier(); /* the previous block is consumed */
        for (uint idx = lid; idx < SEQS * BC * DV; idx += WG) {
            uint c = idx % DV, rest = idx / DV, j = rest % BC, s = rest / BC;
            uint key = kb + j;
            vec4 kx = vec4(0.0), vx = vec4(0.0);
            if (key < p.Lk) {
                uint bh2 = min(sg * SEQS + s, p.BH - 1), b2 = bh2 / p.H, h2 = bh2 - b2 * p.H;
                uint kofs = p.off_k + b2 * p.nk[0] + h2 * p.nk[1] + key * p.nk[2];
                uint vofs = p.off_v + b2 * p.nv[0] + h2 * p.nv[1] + key * p.nv[2];
                [[unroll]] for (uint e = 0; e < 4; e++) {
                    uint d = 4 * c + e;
                    if (d < p.D) {
                        kx[e] = A_LOAD(k[kofs + d * p.nk[3]]);
                        vx[e] = A_LOAD(v[vofs + d * p.nv[3]]);
                    }
                }
            }
            KV[idx] = kx;
            KV[VOFF + idx] = vx;
        }
        barrier();

        /* one key at a time (T lanes of a row take every T-th key), all R rows */
        const uint nk = min(BC, kend - kb);
        for (uint j = t; j < nk; j += T) {
            const uint krow = (slot * BC + j) * DV, key = kb + j;
            float s[R];
            [[unroll]] for (uint r = 0; r < R; r++)
                s[r] = 0.0;
            [[unroll]] for (uint c = 0; c < DV; c++) {
                const vec4 kx = KV[krow + c];
                [[unroll]] for (uint r = 0; r < R; r++)
                    s[r] += dot(qr[r * DV + c], kx);
            }
            float pr[R];
            [[unroll]] for (uint r = 0; r < R; r++) {
                const bool ok = !causal || key <= row0 + qb * RQ + r * RS + rs;
                float a = s[r];
                if (has_mask && ok)
                    a += LOG2E * A_LOAD(mask[mbase[r] + key * p.nm[3]]);
                a = max(a, NEG);
                if (ok && a > m[r] + TAU) {
                    const float alpha = exp2(m[r] - a);
                    [[unroll]] for (uint c = 0; c < DV; c++)
                        acc[r * DV + c] *= alpha;
                    l[r] *= alpha;
                    m[r] = a;
                }
                pr[r] = ok ? exp2(a - m[r]) : 0.0;
                l[r] += pr[r];
            }
            [[unroll]] for (uint c = 0; c < DV; c++) {
                const vec4 vx = KV[VOFF + krow + c];
                [[unroll]] for (uint r = 0; r < R; r++)
                    acc[r * DV + c] += pr[r] * vx;
            }
        }
    }

    barrier(); /* the last block is consumed: stage the output rows */
    [[unroll]] for (uint r = 0; r < R; r++) {
        float lr = l[r];
#ifdef USE_SUBGROUP
        /* Merge the T lanes' partial softmax states of this row. */
        const float mg = subgroupMax(m[r]), f = exp2(m[r] - mg);
        lr = subgroupAdd(lr * f);
        [[unroll]] for (uint c = 0; c < DV; c++)
            acc[r * DV + c] = subgroupAdd(acc[r * DV + c] * f);
#endif
        const float inv = lr > 0.0 ? 1.0 / lr : 0.0;
        if (t == 0)
            [[unroll]] for (uint c = 0; c < DV; c++)
                KV[(slot * RQ + r * RS + rs) * DV + c] = acc[r * DV + c] * inv;
    }
    barrier();
    for (uint idx = lid; idx < SEQS * RQ * DV; idx += WG) {
        uint c = idx % DV, rest = idx / DV, rr = rest % RQ, s = rest / RQ;
        uint i = qb * RQ + rr;
        if (sg * SEQS + s >= p.BH || i >= p.Lq)
            continue;
        uint bh2 = sg * SEQS + s, b2 = bh2 / p.H, h2 = bh2 - b2 * p.H;
        uint oofs = p.off_o + b2 * p.no[0] + h2 * p.no[1] + i * p.no[2];
        vec4 x = KV[idx];
        [[unroll]] for (uint e = 0; e < 4; e++) {
            uint d = 4 * c + e;
            if (d < p.D)
                o[oofs + d * p.no[3]] = A_STORE(x[e]);
        }
    }
}
