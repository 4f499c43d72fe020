/* Direct convolution as an implicit GEMM (no im2col buffer), for every conv
 * of the models: conv2d (KT = 1), the temporal (3,1,1) conv, conv1d with
 * dilation, and, one phase at a time, conv_transpose1d (gpu/ops_conv.c).
 *
 *   y[n,o,f,h,w] = scale * (bias[o] + res[n,o,f,h,w] +
 *                  sum_{i,dt,dh,dw} w[o,i,dt,dh,dw] * act(x[n,i,f*ST+dt*DLT-pad_f, h*SH+dh*DLH-pad_h,
 *                                                            w*SW+dw*DLW-pad_w]))
 * with zeros outside x. GEMM view: M = output channels O, N = output pixels
 * P = N*Fo*Ho*Wo (batch and frames folded in, walked with x's strides, so no
 * permute copy), K = C * taps.
 *
 * Tiling: a workgroup computes TM output channels x (WG * TN) pixels; every
 * invocation owns TN pixels (p_tile + lane + WG * j) and all TM channels, a
 * TM x TN register tile. K is walked tap by tap (the padding guards and the
 * pixel addresses are computed once per tap), and over input channels in
 * chunks of BK: the workgroup stages W[BK x TM] in shared memory, then per k
 * every invocation loads its TN input values once and runs TM * TN FMAs.
 * All invocations read the same weights at addresses that are constants
 * after unrolling: on lavapipe (one SIMD lane per invocation) those become
 * scalar loads + broadcasts, while a load whose address differs per lane is a
 * per-lane loop (~30 cycles per value); on GPUs they are shared-memory
 * broadcasts. So each lane-varying input load feeds TM FMAs.
 *
 * Operand types: x, res, y A_TYPE; w, bias B_TYPE (f32 / f16 / bf16). */
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 32; /* output channels per workgroup, multiple of 4 */
layout(constant_id = 2) const uint TN = 4;  /* pixels per invocation */
layout(constant_id = 3) const uint BK = 16; /* input channels per shared-memory chunk */
/* Kernel extents KT | KH << 8 | KW << 16. */
layout(constant_id = 5) const uint GEOM = 0x010101;
/* Strides and dilations, 5 bits each: ST, SH, SW, DLT, DLH, DLW. */
layout(constant_id = 6) const uint STEP = 0x2108421; /* all 1 */
/* bit 0: bias, bit 1: residual, bit 2: leaky_relu(x, slope) on the input. */
layout(constant_id = 7) const uint FLAGS = 0;

const uint WG = gl_WorkGroupSize.x;
const uint KT = GEOM & 255u, KH = (GEOM >> 8) & 255u, KW = (GEOM >> 16) & 255u;
const uint ST = STEP & 31u, SH = (STEP >> 5) & 31u, SW = (STEP >> 10) & 31u;
const uint DLT = (STEP >> 15) & 31u, DLH = (STEP >> 20) & 31u, DLW = (STEP >> 25) & 31u;
const bool HAS_BIAS = (FLAGS & 1u) != 0u;
const bool HAS_RES = (FLAGS & 2u) != 0u;
const bool LEAKY_IN = (FLAGS & 4u) != 0u;

layout(std430, binding = 0) readonly buffer BufX { A_T x[]; };
layout(std430, binding = 1) readonly buffer BufW { B_T w[]; };
layout(std430, binding = 2) readonly buffer BufB { B_T bias[]; };
layout(std430, binding = 3) readonly buffer BufR { A_T res[]; };
layout(std430, binding = 4) writeonly buffer BufY { A_T y[]; };

layout(push_constant) uniform Push {
    uint x_ne[4]; /* C, F, H, W of the input (view) */
    uint x_nb[5]; /* N, C, F, H, W element strides */
    uint y_ne[5]; /* N, O, Fo, Ho, Wo */
    uint y_nb[5]; /* also the residual's strides */
    uint off_x, off_w, off_b, off_r, off_y;
    int pad_f, pad_h, pad_w; /* leading pads (may be negative inside a chunk) */
    int w_nb_o, w_nb_i, w_nb_tap; /* weight strides: output ch, input ch, flat tap */
    float scale, slope;
} p;

shared vec4 sW[BK * TM / 4]; /* [k][o/4] */

/* Output pixel p -> (n, f, h, w); false past the end. */
bool pixel_coords(uint pix, out uint c[4])
{
    uint q = pix / p.y_ne[4];
    c[3] = pix - q * p.y_ne[4];
    uint r = q / p.y_ne[3];
    c[2] = q - r * p.y_ne[3];
    q = r / p.y_ne[2];
    c[1] = r - q * p.y_ne[2];
    c[0] = q;
    return q < p.y_ne[0];
}

void main()
{
    const uint n_otiles = (p.y_ne[1] + TM - 1) / TM;
    const uint P = p.y_ne[0] * p.y_ne[2] * p.y_ne[3] * p.y_ne[4];
    const uint group = VKR_GROUP_INDEX();
    const uint o_tile = (group % n_otiles) * TM;
    const uint p_tile = (group / n_otiles) * (WG * TN);
    if (p_tile >= P)
        return; /* whole workgroup: grid rounding */
    const uint t = gl_LocalInvocationID.x;
    const uint C = p.x_ne[0];

    /* This invocation's pixels: batch offset and first input coordinates. */
    bool pix_ok[TN];
    uint xb[TN];
    int xf[TN], xh[TN], xw[TN];
    [[unroll]] for (uint j = 0; j < TN; j++) {
        uint c[4];
        pix_ok[j] = pixel_coords(p_tile + t + WG * j, c);
        xb[j] = p.off_x + c[0] * p.x_nb[0];
        xf[j] = int(c[1] * ST) - p.pad_f;
        xh[j] = int(c[2] * SH) - p.pad_h;
        xw[j] = int(c[3] * SW) - p.pad_w;
    }

    float acc[TM][TN];
    [[unroll]] for (uint m = 0; m < TM; m++)
        [[unroll]] for (uint j = 0; j < TN; j++)
            acc[m][j] = 0.0;

    for (uint dt = 0; dt < KT; dt++)
    for (uint dh = 0; dh < KH; dh++)
    for (uint dw = 0; dw < KW; dw++) {
        const uint tap = (dt * KH + dh) * KW + dw;
        /* per pixel: address of channel 0 at this tap, or "padding" */
        bool ok[TN];
        uint xa[TN];
        [[unroll]] for (uint j = 0; j < TN; j++) {
            int fi = xf[j] + int(dt * DLT), hi = xh[j] + int(dh * DLH), wi = xw[j] + int(dw * DLW);
            ok[j] = pix_ok[j] && uint(fi) < p.x_ne[1] && uint(hi) < p.x_ne[2] && uint(wi) < p.x_ne[3];
            xa[j] = ok[j] ? xb[j] + uint(fi) * p.x_nb[2] + uint(hi) * p.x_nb[3] + uint(wi) * p.x_nb[4] : p.off_x;
        }
        const int wtap = int(p.off_w) + int(tap) * p.w_nb_tap;
        for (uint i0 = 0; i0 < C; i0 += BK) {
            /* stage W[k][o] = w[o_tile + o, i0 + k, tap] (zeros past the edges) */
            for (uint e = t; e < BK * TM / 4; e += WG) {
                uint o4 = e % (TM / 4), kr = e / (TM / 4), i = i0 + kr;
                vec4 v = vec4(0.0);
                [[unroll]] for (uint c = 0; c < 4; c++) {
                    uint o = o_tile + o4 * 4 + c;
                    if (i < C && o < p.y_ne[1])
                        v[c] = B_LOAD(w[wtap + int(i) * p.w_nb_i + int(o) * p.w_nb_o]);
                }
                sW[e] = v;
            }
            barrier();
            [[unroll]] for (uint kr = 0; kr < BK; kr++) {
                uint i = min(i0 + kr, C - 1); /* past C the weights are 0 */
                float a[TN];
                [[unroll]] for (uint j = 0; j < TN; j++) {
                    float v = A_LOAD(x[xa[j] + i * p.x_nb[1]]);
                    if (LEAKY_IN)
                        v = v >= 0.0 ? v : v * p.slope;
                    a[j] = ok[j] ? v : 0.0;
                }
                [[unroll]] for (uint m4 = 0; m4 < TM / 4; m4++) {
                    vec4 wv = sW[kr * (TM / 4) + m4];
                    [[unroll]] for (uint c = 0; c < 4; c++)
                        [[unroll]] for (uint j = 0; j < TN; j++)
                            acc[m4 * 4 + c][j] += wv[c] * a[j];
                }
            }
            barrier();
        }
    }

    /* epilogue: + bias, + residual, * scale, store */
    [[unroll]] for (uint j = 0; j < TN; j++) {
        uint c[4];
        bool okp = pixel_coords(p_tile + t + WG * j, c);
        uint yo = c[0] * p.y_nb[0] + c[1] * p.y_nb[2] + c[2] * p.y_nb[3] + c[3] * p.y_nb[4];
        [[unroll]] for (uint m = 0; m < TM; m++) {
            uint o = o_tile + m;
            if (okp && o < p.y_ne[1]) {
                float v = acc[m][j];
                if (HAS_BIAS)
                    v += B_LOAD(bias[p.off_b + o]);
                if (HAS_RES)
                    v += A_LOAD(res[p.off_r + yo + o * p.y_nb[1]]);
                y[p.off_y + yo + o * p.y_nb[1]] = A_STORE(v * p.scale);
            }
        }
    }
}
