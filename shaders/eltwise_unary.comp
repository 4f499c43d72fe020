/* d = f(p0, p1, a) elementwise over a 5-D box; a and d have any strides (a may
 * broadcast with stride 0). OP (specialization constant 1) selects f; the ids
 * are VKR_UNARY_* in gpu/ops_eltwise.h. OP 0 (identity) is copy/convert. */
#version 450
#include "common.glsl"
#include "activations.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;

layout(std430, binding = 0) readonly buffer BufA { A_T a[]; };
layout(std430, binding = 1) writeonly buffer BufD { D_T d[]; };

layout(push_constant) uniform Push {
    uint ne[5];
    uint n;
    uint off_a, off_d;
    uint nb_a[5], nb_d[5];
    float p0, p1;
} p;

void main()
{
    uint i = VKR_GLOBAL_INDEX();
    if (i >= p.n)
        return;
    uint c[5];
    vkr_coords5(i, p.ne, c);
    float x = OP == 10 ? 0.0 : A_LOAD(a[p.off_a + vkr_dot5(c, p.nb_a)]); /* fill reads nothing */
    float y;
    switch (OP) {
    case 0: y = x; break;
    case 1: y = p.p0 * x + p.p1; break;
    case 2: y = vkr_silu(x); break;
    case 3: y = vkr_gelu_erf(x); break;
    case 4: y = vkr_gelu_tanh(x); break;
    case 5: y = vkr_quick_gelu(x); break;
    case 6: y = max(x, 0.0); break;
    case 7: y = x >= 0.0 ? x : p.p0 * x; break;
    case 8: y = vkr_tanh(x); break;
    case 9: y = vkr_sigmoid(x); break;
    case 10: y = p.p0; break;
    case 11: y = min(max(x, p.p0), p.p1); break;
    default: y = x; break;
    }
    d[p.off_d + vkr_dot5(c, p.nb_d)] = D_STORE(y);
}
