# libFuzzer target for the storyboard parser (configure with CC=clang -DVKREEL_FUZZ=ON).
# Only the parser's own sources are compiled in, so the target does not pull in
# libav or Vulkan; cJSON is the one external library it needs.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "VKREEL_FUZZ needs clang (CC=clang): libFuzzer is part of clang")
endif()
add_executable(fuzz_storyboard
  ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_storyboard.c
  ${CMAKE_SOURCE_DIR}/pipeline/storyboard.c
  ${CMAKE_SOURCE_DIR}/pipeline/json_dom.c
  ${CMAKE_SOURCE_DIR}/common/status.c
  ${CMAKE_SOURCE_DIR}/common/atomic_file.c)
target_include_directories(fuzz_storyboard PRIVATE ${CMAKE_SOURCE_DIR})
target_compile_options(fuzz_storyboard PRIVATE
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
target_link_options(fuzz_storyboard PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_storyboard PRIVATE PkgConfig::CJSON m)
