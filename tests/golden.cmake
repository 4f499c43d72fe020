# `vkreel golden` CLI tests (docs/golden.md): one ctest per shipped case, the
# output modes and exit codes, and negative tests: corrupted copies of shipped
# cases must FAIL with the right exit code (tests/golden_cli/corrupt.sh).
# Every shipped case directory gets a ctest. A component this build does not
# implement exits 70 and is reported as skipped (SKIP_RETURN_CODE); once its
# runner lands in pipeline/golden_runners.c the same test checks it for real.
file(GLOB VKR_GOLDEN_CASES LIST_DIRECTORIES true RELATIVE ${CMAKE_SOURCE_DIR}
     ${CMAKE_SOURCE_DIR}/tests/golden/* ${CMAKE_SOURCE_DIR}/tests/golden/schedulers/*)
foreach(case ${VKR_GOLDEN_CASES})
  if(EXISTS ${CMAKE_SOURCE_DIR}/${case}/case.json OR EXISTS ${CMAKE_SOURCE_DIR}/${case}/expected.json)
    string(REPLACE "tests/golden/" "" name ${case})
    string(REPLACE "/" "_" name ${name})
    add_test(NAME golden_${name} COMMAND vkreel golden ${case} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(golden_${name} PROPERTIES SKIP_RETURN_CODE 70)
  endif()
endforeach()

# Several cases in one run, machine-readable.
add_test(NAME golden_json COMMAND vkreel golden --json tests/golden/schedulers/ddim_sd_eps_n10
         tests/golden/tokenizer_roberta WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(golden_json PROPERTIES PASS_REGULAR_EXPRESSION "\"passed\":[ \t]*2")

add_test(NAME golden_list COMMAND vkreel golden --list)
set_tests_properties(golden_list PROPERTIES PASS_REGULAR_EXPRESSION "schedulers +implemented")

# A registered but unimplemented component exits 70 with a clear message
# (tests/golden_cli/not_implemented.sh picks one from --list; none left: skipped).
add_test(NAME golden_not_implemented
  COMMAND sh ${CMAKE_SOURCE_DIR}/tests/golden_cli/not_implemented.sh $<TARGET_FILE:vkreel>
          ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/golden_not_implemented)
add_test(NAME golden_missing_dir
  COMMAND sh -c "\"$0\" golden tests/golden/no_such_case; test $? -eq 66" $<TARGET_FILE:vkreel>
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME golden_usage COMMAND sh -c "\"$0\" golden --bogus; test $? -eq 64" $<TARGET_FILE:vkreel>)

foreach(mode value nan shape notol noio)
  add_test(NAME golden_corrupt_${mode}
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/golden_cli/corrupt.sh $<TARGET_FILE:vkreel>
            ${CMAKE_SOURCE_DIR}/tests/golden/schedulers/ddim_sd_eps_n10
            ${CMAKE_CURRENT_BINARY_DIR}/golden_corrupt_${mode} ${mode})
endforeach()
add_test(NAME golden_corrupt_tokid
  COMMAND sh ${CMAKE_SOURCE_DIR}/tests/golden_cli/corrupt.sh $<TARGET_FILE:vkreel>
          ${CMAKE_SOURCE_DIR}/tests/golden/tokenizer_roberta
          ${CMAKE_CURRENT_BINARY_DIR}/golden_corrupt_tokid tokid)
# Copies under other directory names are still identified (by case.json "case",
# or a tokenizer's files) and pass.
foreach(case schedulers/euler_sd_vpred_n25 tokenizer_clip tokenizer_roberta)
  string(REPLACE "/" "_" name ${case})
  add_test(NAME golden_copy_${name}
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/golden_cli/corrupt.sh $<TARGET_FILE:vkreel>
            ${CMAKE_SOURCE_DIR}/tests/golden/${case} ${CMAKE_CURRENT_BINARY_DIR}/golden_copy_${name}/renamed copy)
endforeach()
