/* Shared by every vkreel compute shader.
 *
 * Storage types: compile a shader with -DA_TYPE=n (and B_TYPE, D_TYPE, ... for
 * other operands), n = 0 f32, 1 f16, 2 bf16 (same numbers as
 * vkr_storage_index()). For operand X this defines X_T (the buffer element
 * type), X_LOAD(v) -> float and X_STORE(f) -> X_T. Arithmetic is always f32.
 * bf16 is stored as uint16_t and converted by bit manipulation, so it needs no
 * bf16 extension (but shaderInt16); f16 needs only storageBuffer16BitAccess. */
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : enable /* bf16 via uint16_t (needs shaderInt16) */

#define VKR_F32 0
#define VKR_F16 1
#define VKR_BF16 2

float vkr_bf16_load(uint16_t x) { return uintBitsToFloat(uint(x) << 16); }

uint16_t vkr_bf16_store(float v)
{
    uint u = floatBitsToUint(v);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return uint16_t((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);        /* round to nearest even */
    return uint16_t(u >> 16);
}

#if defined(A_TYPE)
#if A_TYPE == VKR_F32
#define A_T float
#define A_LOAD(v) float(v)
#define A_STORE(f) (f)
#elif A_TYPE == VKR_F16
#define A_T float16_t
#define A_LOAD(v) float(v)
#define A_STORE(f) float16_t(f)
#else
#define A_T uint16_t
#define A_LOAD(v) vkr_bf16_load(v)
#define A_STORE(f) vkr_bf16_store(f)
#endif
#endif

#if defined(B_TYPE)
#if B_TYPE == VKR_F32
#define B_T float
#define B_LOAD(v) float(v)
#define B_STORE(f) (f)
#elif B_TYPE == VKR_F16
#define B_T float16_t
#define B_LOAD(v) float(v)
#define B_STORE(f) float16_t(f)
#else
#define B_T uint16_t
#define B_LOAD(v) vkr_bf16_load(v)
#define B_STORE(f) vkr_bf16_store(f)
#endif
#endif

#if defined(D_TYPE)
#if D_TYPE == VKR_F32
#define D_T float
#define D_LOAD(v) float(v)
#define D_STORE(f) (f)
#elif D_TYPE == VKR_F16
#define D_T float16_t
#define D_LOAD(v) float(v)
#define D_STORE(f) float16_t(f)
#else
#define D_T uint16_t
#define D_LOAD(v) vkr_bf16_load(v)
#define D_STORE(f) vkr_bf16_store(f)
#endif
#endif

/* Linear workgroup / invocation index for grids folded by vkr_grid_1d(). The
 * grid may be rounded up: always bounds-check. */
#define VKR_GROUP_INDEX() \
    ((gl_WorkGroupID.z * gl_NumWorkGroups.y + gl_WorkGroupID.y) * gl_NumWorkGroups.x + gl_WorkGroupID.x)
#define VKR_GLOBAL_INDEX() (VKR_GROUP_INDEX() * gl_WorkGroupSize.x + gl_LocalInvocationID.x)

/* Coordinates of linear index i (W fastest) in a 5-D box of extents ne, then
 * element offsets for each operand's strides. Boxes collapsed to 1-D or 2-D by
 * vkr_chunk_collapse() take at most one division. */
void vkr_coords5(uint i, uint ne[5], out uint c[5])
{
    c[0] = 0, c[1] = 0, c[2] = 0, c[3] = 0;
    if (ne[0] == 1 && ne[1] == 1 && ne[2] == 1) {
        if (ne[3] == 1) {
            c[4] = i;
        } else {
            c[3] = i / ne[4];
            c[4] = i - c[3] * ne[4];
        }
        return;
    }
    for (int d = 4; d > 0; d--) {
        uint q = i / ne[d];
        c[d] = i - q * ne[d];
        i = q;
    }
    c[0] = i;
}

uint vkr_dot5(uint c[5], uint nb[5])
{
    return c[0] * nb[0] + c[1] * nb[1] + c[2] * nb[2] + c[3] * nb[3] + c[4] * nb[4];
}
