/* vec4 access to the A (input) and D (output) storage of the normalisation
 * kernels, for rows that are contiguous and 4-element aligned: one 16-byte
 * (or 8-byte) access instead of four. On lavapipe every SSBO access is a
 * bounds-checked per-lane load, so this is worth ~2-4x there; on GPUs it
 * means wider transactions. The host selects it with the VEC4 specialization
 * constant only when the row length, the strides and the window offsets are
 * multiples of 4 elements. Include after common.glsl. */
#if A_TYPE == VKR_F32
#define A_T4 vec4
#define A_LOAD4(v) (v)
#elif A_TYPE == VKR_F16
#define A_T4 f16vec4
#define A_LOAD4(v) vec4(v)
#else
#define A_T4 u16vec4
#define A_LOAD4(v) vec4(vkr_bf16_load((v).x), vkr_bf16_load((v).y), vkr_bf16_load((v).z), vkr_bf16_load((v).w))
#endif

#if defined(D_TYPE)
#if D_TYPE == VKR_F32
#define D_T4 vec4
#define D_STORE4(f) (f)
#elif D_TYPE == VKR_F16
#define D_T4 f16vec4
#define D_STORE4(f) f16vec4(f)
#else
#define D_T4 u16vec4
#define D_STORE4(f) u16vec4(vkr_bf16_store((f).x), vkr_bf16_store((f).y), vkr_bf16_store((f).z), vkr_bf16_store((f).w))
#endif
#endif

#if defined(B_TYPE)
#if B_TYPE == VKR_F32
#define B_T4 vec4
#define B_LOAD4(v) (v)
#elif B_TYPE == VKR_F16
#define B_T4 f16vec4
#define B_LOAD4(v) vec4(v)
#else
#define B_T4 u16vec4
#define B_LOAD4(v) vec4(vkr_bf16_load((v).x), vkr_bf16_load((v).y), vkr_bf16_load((v).z), vkr_bf16_load((v).w))
#endif
#endif
