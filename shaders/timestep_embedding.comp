/* Sinusoidal timestep embedding (diffusers get_timestep_embedding), in f32
 * with torch's operation order:
 *   exponent_i = (-ln(max_period) * i) / (half - downscale_freq_shift)
 *   arg = t * exp(exponent_i) * scale
 *   emb = [sin(arg), cos(arg)]  ([cos, sin] with flip_sin_to_cos), zero pad
 *   column when the dim is odd.
 * exp/sin/cos are evaluated here with Cody-Waite range reduction and minimax
 * polynomials (Cephes expf/sinf/cosf, ~1 ulp) instead of the built-ins:
 * Vulkan only bounds GLSL sin/cos to 2^-11 absolute inside [-pi, pi] and exp
 * to 3 + 2|x| ulp, while arg reaches ~1000 rad for t = 999.
 * t: f32 (one per row, any stride); y: D_TYPE (rows x dim). */
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer BufT { float ts[]; };
layout(std430, binding = 1) writeonly buffer BufY { D_T y[]; };

layout(push_constant) uniform Push {
    uint rows, dim, half_dim, flip;
    uint off_t, nb_t;
    uint off_y, nb_y_row, nb_y_col;
    float neg_log_max_period; /* f32(-ln(max_period)) */
    float denom;              /* f32(half - downscale_freq_shift) */
    float scale;
} p;

float vkr_expf(float xx)
{
    precise float z = floor(1.44269504088896341 * xx + 0.5);
    precise float x = xx - z * 0.693359375;
    x = x - z * -2.12194440e-4;
    float x2 = x * x;
    float e = ((((1.9875691500e-4 * x + 1.3981999507e-3) * x + 8.3334519073e-3) * x + 4.1665795894e-2) * x +
               1.6666665459e-1) * x + 5.0000001201e-1;
    e = e * x2 + x + 1.0;
    return ldexp(e, int(z));
}

/* sin (want_cos false) or cos of x, |x| < 8192. */
float vkr_sincosf(float xx, bool want_cos)
{
    float x = abs(xx);
    float sgn = (!want_cos && xx < 0.0) ? -1.0 : 1.0;
    uint j = uint(1.27323954473516 * x);
    float yq = float(j);
    if ((j & 1u) != 0u) {
        j += 1u;
        yq += 1.0;
    }
    j &= 7u;
    if (j > 3u) {
        j -= 4u;
        sgn = -sgn;
    }
    if (want_cos && j > 1u)
        sgn = -sgn;
    precise float r = ((x - yq * 0.78515625) - yq * 2.4187564849853515625e-4) - yq * 3.77489497744594108e-8;
    float z = r * r;
    bool sin_poly = (j == 1u || j == 2u) == want_cos;
    float v;
    if (sin_poly)
        v = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
    else
        v = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
    return sgn * v;
}

void main()
{
    uint i = VKR_GLOBAL_INDEX();
    if (i >= p.rows * p.dim)
        return;
    uint row = i / p.dim, col = i - row * p.dim;
    float v = 0.0;
    if (col < 2u * p.half_dim) {
        bool second = col >= p.half_dim;
        uint k = second ? col - p.half_dim : col;
        precise float ex = p.neg_log_max_period * float(k);
        ex = ex / p.denom;
        float freq = vkr_expf(ex);
        precise float arg = ts[p.off_t + row * p.nb_t] * freq;
        arg = arg * p.scale;
        /* [sin, cos], or [cos, sin] when flipped */
        bool want_cos = (p.flip != 0u) != second;
        v = vkr_sincosf(arg, want_cos);
    }
    y[p.off_y + row * p.nb_y_row + col * p.nb_y_col] = D_STORE(v);
}
