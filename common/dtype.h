/* Element types shared by checkpoint files and device tensors. */
#ifndef VKR_DTYPE_H
#define VKR_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    VKR_F32 = 0,
    VKR_F16,
    VKR_BF16,
    VKR_F64,
    VKR_I64,
    VKR_I32,
    VKR_I16,
    VKR_I8,
    VKR_U8,
    VKR_BOOL,
    VKR_DTYPE_COUNT
} vkr_dtype;

size_t vkr_dtype_size(vkr_dtype t);
const char *vkr_dtype_name(vkr_dtype t); /* "F32", "F16", ... (safetensors spelling) */
/* Inverse of vkr_dtype_name: 1 and *out set when `s` names a dtype, else 0. */
int vkr_dtype_from_name(const char *s, vkr_dtype *out);

/* IEEE half / bfloat16 conversions (round to nearest even). */
float vkr_f16_to_f32(uint16_t h);
uint16_t vkr_f32_to_f16(float f);
float vkr_bf16_to_f32(uint16_t h);
uint16_t vkr_f32_to_bf16(float f);

#endif
