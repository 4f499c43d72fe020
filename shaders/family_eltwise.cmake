# Elementwise family (gpu/ops_eltwise.c). Storage types: 0 f32, 1 f16, 2 bf16.
foreach(_a RANGE 2)
  list(GET VKR_STORAGE_TYPES ${_a} _an)
  foreach(_d RANGE 2)
    list(GET VKR_STORAGE_TYPES ${_d} _dn)
    # unary/copy: source A, destination D
    vkr_shader(eltwise_unary_${_an}_${_dn} eltwise_unary.comp A_TYPE=${_a} D_TYPE=${_d})
    # binary: a and d share A's type, b may differ (f16 bias on f32 activations)
    vkr_shader(eltwise_binary_${_an}_${_dn} eltwise_binary.comp A_TYPE=${_a} B_TYPE=${_d})
  endforeach()
endforeach()
