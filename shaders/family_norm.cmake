# Normalisation / reduction family (gpu/ops_norm.c). Storage types: 0 f32,
# 1 f16, 2 bf16. Activations in and out share one storage type (A = D);
# weights / masks (B) may use any storage type (f16 weights on f32
# activations and so on).
vkr_shader(groupnorm_combine groupnorm_combine.comp)
foreach(_a RANGE 2)
  list(GET VKR_STORAGE_TYPES ${_a} _an)
  vkr_shader(groupnorm_stats_${_an} groupnorm_stats.comp A_TYPE=${_a})
  vkr_shader(l2norm_${_an} l2norm.comp A_TYPE=${_a} D_TYPE=${_a})
  vkr_shader(reduce_rows_${_an} reduce_rows.comp A_TYPE=${_a} D_TYPE=${_a})
  foreach(_b RANGE 2)
    list(GET VKR_STORAGE_TYPES ${_b} _bn)
    vkr_shader(groupnorm_apply_${_an}_${_bn} groupnorm_apply.comp A_TYPE=${_a} B_TYPE=${_b} D_TYPE=${_a})
    vkr_shader(layernorm_${_an}_${_bn} layernorm.comp A_TYPE=${_a} B_TYPE=${_b} D_TYPE=${_a})
    vkr_shader(softmax_${_an}_${_bn} softmax.comp A_TYPE=${_a} B_TYPE=${_b} D_TYPE=${_a})
  endforeach()
endforeach()
