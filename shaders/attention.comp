/* Fused attention, flash-attention style:
 *   O[b,h,i,:] = softmax_j(scale * Q[b,h,i,:] . K[b,h,j,:] + mask[b,h,i,j]) V[b,h,j,:]
 * without ever storing the Lq x Lk score matrix. A workgroup owns RS query
 * rows of each of SEQS (batch, head) sequences, streams BC keys at a time
 * through shared memory (converted to f32) and keeps, per row, the running max
 * m, the running sum l and the un-normalised output in f32 registers (online
 * softmax: when the max grows, everything accumulated so far is rescaled by
 * exp(m_old - m_new)). O is written once, divided by l.
 *
 * Exponentials are base 2: q is pre-multiplied by scale * log2(e) (and the mask
 * by log2(e)), which is exact up to rounding and saves a multiply per score.
 * Scores are clamped at NEG = -1e30 so a mask of -inf behaves like torch's
 * finfo.min masks (a fully masked row averages V uniformly instead of NaN), and
 * no infinity ever enters the arithmetic. Keys outside [0, Lk) or above the
 * causal diagonal get probability exactly 0.
 *
 * Thread mapping (spec constants chosen by gpu/ops_attention.c):
 *   plain variant:     one invocation per query row (T = 1); row reductions
 *                      (max, sum over keys) are sequential inside the thread.
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
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DV = 16;  /* head dim capacity in vec4s */
layout(constant_id = 2) const uint BC = 64;  /* keys per shared-memory block */
layout(constant_id = 3) const uint RS = 64;  /* query rows per sequence per workgroup */
layout(constant_id = 4) const uint SEQS = 1; /* sequences per workgroup */
layout(constant_id = 5) const uint T = 1;    /* lanes per row (subgroup variant: the subgroup size) */
layout(constant_id = 6) const uint KC = 8;   /* keys per lane per online-softmax step (BC % (KC*T) == 0) */

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

shared vec4 Ks[SEQS * BC * DV];
shared vec4 Vs[SEQS * BC * DV];

void main()
{
    const uint WG = gl_WorkGroupSize.x;
    const uint lid = gl_LocalInvocationID.x;
    const uint nqb = (p.Lq + RS - 1) / RS;
    const uint g = VKR_GROUP_INDEX();
    const uint sg = g / nqb, qb = g - sg * nqb;
    if (sg * SEQS >= p.BH)
        return; /* whole workgroup: the grid was rounded up */
#ifdef USE_SUBGROUP
    const uint t = gl_SubgroupInvocationID, rloc = gl_SubgroupID; /* T == gl_SubgroupSize */
#else
    const uint t = 0, rloc = lid;
#endif
    const uint slot = rloc / RS, r = rloc - slot * RS;
    const bool seq_ok = sg * SEQS + slot < p.BH;
    const uint bh = min(sg * SEQS + slot, p.BH - 1);
    const uint i = qb * RS + r;
    const bool row_ok = seq_ok && i < p.Lq;
    const uint ic = min(i, p.Lq - 1); /* idle lanes compute a valid row and do not store it */
    const uint b = bh / p.H, h = bh - b * p.H;
    const bool causal = (p.flags & 1u) != 0, has_mask = (p.flags & 2u) != 0;
    const uint row0 = p.flags >> 2; /* causal diagonal: global row = row0 + i */


    vec4 qr[DV], acc[DV];
    const uint qbase = p.off_q + b * p.nq[0] + h * p.nq[1] + ic * p.nq[2];
    for (uint c = 0; c < DV; c++) {
        vec4 x = vec4(0.0);
        for (uint e = 0; e < 4; e++) {
            uint d = 4 * c + e;
            if (d < p.D)
                x[e] = A_LOAD(q[qbase + d * p.nq[3]]);
        }
        qr[c] = x * p.scale_log2;
        acc[c] = vec4(0.0);
    }
    float m = NEG, l = 0.0;
    const uint mbase = p.off_m + b * p.nm[0] + h * p.nm[1] + ic * p.nm[2];

    /* Causal: no key beyond the workgroup's last row is ever needed. */
    const uint kend = causal ? min(p.Lk, row0 + min(qb * RS + RS, p.Lq)) : p.Lk;
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
                for (uint e = 0; e < 4; e++) {
                    uint d = 4 * c + e;
                    if (d < p.D) {
                        kx[e] = A_LOAD(k[kofs + d * p.nk[3]]);
                        vx[e] = A_LOAD(v[vofs + d * p.nv[3]]);
                    }
                }
            }
            Ks[idx] = kx;
            Vs[idx] = vx;
        }
        barrier();

        const uint nk = min(BC, kend - kb);
        for (uint j0 = 0; j0 < nk; j0 += KC * T) {
            float s[KC];
            bool ok[KC];
            float mx = m;
            for (uint jj = 0; jj < KC; jj++) {
                uint j = j0 + jj * T + t;
                uint row = (slot * BC + min(j, BC - 1)) * DV;
                float a = 0.0;
                for (uint c = 0; c < DV; c++)
                    a += dot(qr[c], Ks[row + c]);
                uint key = kb + j;
                ok[jj] = j < nk && (!causal || key <= row0 + i);
                if (has_mask && ok[jj])
                    a += LOG2E * A_LOAD(mask[mbase + key * p.nm[3]]);
                s[jj] = max(a, NEG);
                if (ok[jj])
                    mx = max(mx, s[jj]);
            }
            float alpha = exp2(m - mx), ps = 0.0;
            for (uint c = 0; c < DV; c++)
                acc[c] *= alpha;
            for (uint jj = 0; jj < KC; jj++) {
                float pj = ok[jj] ? exp2(s[jj] - mx) : 0.0;
                ps += pj;
                uint row = (slot * BC + min(j0 + jj * T + t, BC - 1)) * DV;
                for (uint c = 0; c < DV; c++)
                    acc[c] += pj * Vs[row + c];
            }
            l = l * alpha + ps;
            m = mx;
        }
    }

#ifdef USE_SUBGROUP
    /* Merge the T lanes' partial softmax states of this row. */
    const float mg = subgroupMax(m), f = exp2(m - mg);
    l = subgroupAdd(l * f);
    for (uint c = 0; c < DV; c++)
        acc[c] = subgroupAdd(acc[c] * f);
#endif
    if (!row_ok || t != 0)
        return;
    const float inv = l > 0.0 ? 1.0 / l : 0.0;
    const uint obase = p.off_o + b * p.no[0] + h * p.no[1] + i * p.no[2];
    for (uint c = 0; c < DV; c++)
        for (uint e = 0; e < 4; e++) {
            uint d = 4 * c + e;
            if (d < p.D)
                o[obase + d * p.no[3]] = A_STORE(acc[c][e] * inv);
        }
}
