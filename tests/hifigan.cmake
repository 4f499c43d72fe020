# HiFi-GAN vocoder at real size: AudioLDM's vocoder config (1024 initial
# channels, ~55 M parameters, random weights) on 1024 mel frames = the 10.24 s
# window. About a TFLOP: minutes on lavapipe, so only with
# -DVKREEL_LONG_TESTS=ON (or run `test_hifigan_golden --real [frames]` by hand).
option(VKREEL_LONG_TESTS "register tests that take minutes on lavapipe" OFF)
if(VKREEL_LONG_TESTS)
  add_test(NAME hifigan_real_size COMMAND test_hifigan_golden --real 1024 WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(hifigan_real_size PROPERTIES LABELS "slow;long" TIMEOUT 3600
                       ENVIRONMENT "VKREEL_VALIDATE=0")
endif()
