# `vkreel plan` CLI tests: exit codes, every example and good-corpus storyboard
# planned as a table and as byte-stable JSON, re-derived independently.
add_test(NAME timeline_plan_cli
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/timeline/plan_cli.sh $<TARGET_FILE:vkreel>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/timeline_plan_cli)
