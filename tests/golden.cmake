# `vkreel golden` on every shipped case whose component this build implements
# (one ctest each), the model cases' "not implemented" exit code, and negative
# tests: corrupted copies of shipped cases must FAIL with the right exit code.
file(GLOB VKR_GOLDEN_SCHEDULER_CASES LIST_DIRECTORIES true RELATIVE ${CMAKE_SOURCE_DIR}
     ${CMAKE_SOURCE_DIR}/tests/golden/schedulers/*)
foreach(case ${VKR_GOLDEN_SCHEDULER_CASES} tests/golden/tokenizer_clip tests/golden/tokenizer_roberta)
  if(IS_DIRECTORY ${CMAKE_SOURCE_DIR}/${case})
    string(REPLACE "tests/golden/" "" name ${case})
    string(REPLACE "/" "_" name ${name})
    add_test(NAME golden_${name} COMMAND vkreel golden ${case} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  endif()
endforeach()

# All scheduler variants in one run, machine-readable.
add_test(NAME golden_json COMMAND vkreel golden --json tests/golden/schedulers/ddim_sd_eps_n10
         tests/golden/tokenizer_roberta WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(golden_json PROPERTIES PASS_REGULAR_EXPRESSION "\"passed\":[ \t]*2")

add_test(NAME golden_list COMMAND vkreel golden --list)
set_tests_properties(golden_list PROPERTIES PASS_REGULAR_EXPRESSION "schedulers +implemented")

# Model cases not implemented yet: exit 70 with a clear message. When a runner
# lands, move its case into the loop above.
add_test(NAME golden_not_implemented
  COMMAND sh -c "out=$(\"$0\" golden tests/golden/unet3d); rc=$?; echo \"$out\"; test $rc -eq 70 && echo \"$out\" | grep -q 'not implemented in this build'"
          $<TARGET_FILE:vkreel>
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
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
