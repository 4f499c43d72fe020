# Attention family (gpu/ops_attention.c): q, k, v, mask and o share one storage
# type (0 f32, 1 f16, 2 bf16); softmax and accumulation are f32. The _sg
# variants merge per-lane softmax states with subgroupMax/subgroupAdd (chosen
# at run time when the device has subgroup arithmetic in compute shaders).
foreach(_t RANGE 2)
  list(GET VKR_STORAGE_TYPES ${_t} _n)
  vkr_shader(attention_${_n} attention.comp A_TYPE=${_t})
  vkr_shader(attention_sg_${_n} attention.comp A_TYPE=${_t} USE_SUBGROUP=1)
endforeach()
