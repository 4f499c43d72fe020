/* d = a (op) b elementwise over a 5-D box with broadcasting (stride 0) and
 * any strides; d has a's storage type. OP (specialization constant 1):
 * VKR_BINARY_* in gpu/ops_eltwise.h. */
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;

layout(std430, binding = 0) readonly buffer BufA { A_T a[]; };
layout(std430, binding = 1) readonly buffer BufB { B_T b[]; };
layout(std430, binding = 2) writeonly buffer BufD { A_T d[]; };

layout(push_constant) uniform Push {
    uint ne[5];
    uint n;
    uint off_a, off_b, off_d;
    uint nb_a[5], nb_b[5], nb_d[5];
    float p0, p1;
} p;

void main()
{
    uint i = VKR_GLOBAL_INDEX();
    if (i >= p.n)
        return;
    uint c[5];
    vkr_coords5(i, p.ne, c);
    float x = A_LOAD(a[p.off_a + vkr_dot5(c, p.nb_a)]);
    float y = B_LOAD(b[p.off_b + vkr_dot5(c, p.nb_b)]);
    float r;
    switch (OP) {
    case 0: r = x + y; break;
    case 1: r = x - y; break;
    case 2: r = x * y; break;
    case 3: r = x / y; break;
    default: r = x; break;
    }
    d[p.off_d + vkr_dot5(c, p.nb_d)] = A_STORE(r);
}
