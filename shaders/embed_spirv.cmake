# cmake -DIN=x.spv -DOUT=x.c -DNAME=x -P embed_spirv.cmake
# Writes the SPIR-V module as a uint32_t array (little-endian words) plus a
# vkr_shader_code named vkr_spv_<NAME>.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" len)
math(EXPR rem "${len} % 8")
if(len EQUAL 0 OR NOT rem EQUAL 0)
  message(FATAL_ERROR "${IN}: not a SPIR-V module (${len} hex digits)")
endif()
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1," words "${hex}")
string(REGEX REPLACE "((0x[0-9a-f]+,){8})" "\\1\n" words "${words}")
file(WRITE ${OUT}
  "/* Generated from ${NAME}.spv by shaders/embed_spirv.cmake. */\n"
  "#include \"gpu/shader.h\"\n"
  "static const uint32_t words[] = {\n${words}};\n"
  "const vkr_shader_code vkr_spv_${NAME} = {\"${NAME}\", words, sizeof words};\n")
