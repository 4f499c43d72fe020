# Storyboard CLI tests: `vkreel validate` on the bad corpus (tests/storyboards/bad,
# expectations in bad/EXPECT.tsv), the good corpus and the examples, and exit codes.
foreach(mode bad good misc)
  add_test(NAME storyboard_validate_${mode}
           COMMAND sh ${CMAKE_SOURCE_DIR}/tests/storyboards/run_cli.sh ${mode} $<TARGET_FILE:vkreel>
                   ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/storyboard_validate_${mode})
endforeach()
