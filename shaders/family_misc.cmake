# Small kernels (gpu/ops_misc.c): nearest upsampling, timestep embedding,
# embedding lookup. Storage types: 0 f32, 1 f16, 2 bf16.
foreach(_a RANGE 2)
  list(GET VKR_STORAGE_TYPES ${_a} _an)
  vkr_shader(upsample_nearest_${_an} upsample_nearest.comp A_TYPE=${_a} D_TYPE=${_a})
  vkr_shader(timestep_embedding_${_an} timestep_embedding.comp D_TYPE=${_a})
  foreach(_b RANGE 2)
    list(GET VKR_STORAGE_TYPES ${_b} _bn)
    vkr_shader(embedding_${_an}_${_bn} embedding.comp A_TYPE=${_a} B_TYPE=${_b} D_TYPE=${_a})
  endforeach()
endforeach()
