/* An embedded SPIR-V module. shaders/shaders.cmake compiles every shader variant
 * with glslc and generates one C file per variant defining a `vkr_shader_code`
 * named vkr_spv_<variant>, declared in the generated header "vkr_shaders.h". */
#ifndef VKR_SHADER_H
#define VKR_SHADER_H

#include <stddef.h>
#include <stdint.h>

typedef struct vkr_shader_code {
    const char *name;      /* variant name, e.g. "eltwise_unary_f32_f16" */
    const uint32_t *words; /* SPIR-V words */
    size_t size;           /* in bytes */
} vkr_shader_code;

#endif
