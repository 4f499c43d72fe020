# Convolution family (gpu/ops_conv.c). conv.comp: every conv as an implicit
# GEMM; x/residual/y storage A_TYPE, weights/bias B_TYPE (0 f32, 1 f16, 2 bf16).
foreach(_a RANGE 2)
  list(GET VKR_STORAGE_TYPES ${_a} _an)
  foreach(_b RANGE 2)
    list(GET VKR_STORAGE_TYPES ${_b} _bn)
    vkr_shader(conv_${_an}_${_bn} conv.comp A_TYPE=${_a} B_TYPE=${_b})
  endforeach()
endforeach()
