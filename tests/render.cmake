# Render + verify CLI tests: `vkreel render --testcard` on the example storyboards,
# `vkreel verify` on the results (with and without the storyboard, and against the
# wrong storyboard), and the exit codes of both commands.
set(VKR_RENDER_OUT ${CMAKE_CURRENT_BINARY_DIR}/render_out)
file(MAKE_DIRECTORY ${VKR_RENDER_OUT})
set(VKR_EXPECT sh ${CMAKE_SOURCE_DIR}/tests/render/expect_exit.sh)

# 1280x720, 24 fps, stereo, crossfades, 4 cues, shot and free subtitles. Not
# --quiet: the non-terminal progress lines must reach 100 %.
add_test(NAME render_otter_testcard
         COMMAND $<TARGET_FILE:vkreel> render storyboards/otter-on-a-plane.json
                 -o ${VKR_RENDER_OUT}/otter.mp4 --testcard
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
# A PASS regex replaces the exit-status check, so failures are caught by a FAIL
# regex on the error prefix (here) or on expect_exit.sh's message (below).
set_tests_properties(render_otter_testcard PROPERTIES FIXTURES_SETUP otter_mp4
                     PASS_REGULAR_EXPRESSION "rendering: 100% \\(480/480 frames"
                     FAIL_REGULAR_EXPRESSION "vkreel render:")
add_test(NAME render_otter_sidecars
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/render/sidecars.sh ${VKR_RENDER_OUT}/otter)
add_test(NAME verify_otter_with_storyboard
         COMMAND $<TARGET_FILE:vkreel> verify ${VKR_RENDER_OUT}/otter.mp4
                 --storyboard storyboards/otter-on-a-plane.json
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME verify_otter_alone
         COMMAND $<TARGET_FILE:vkreel> verify ${VKR_RENDER_OUT}/otter.mp4)
# Checked against a different storyboard: 65, naming frame count and the cues.
add_test(NAME verify_otter_wrong_storyboard
         COMMAND ${VKR_EXPECT} 65 $<TARGET_FILE:vkreel> verify ${VKR_RENDER_OUT}/otter.mp4
                 --storyboard storyboards/rainy-window.json
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_otter_sidecars verify_otter_with_storyboard verify_otter_alone
                     verify_otter_wrong_storyboard PROPERTIES FIXTURES_REQUIRED otter_mp4)
set_tests_properties(verify_otter_wrong_storyboard PROPERTIES
                     PASS_REGULAR_EXPRESSION "frame count: FAIL: expected 450 frames, found 480"
                     FAIL_REGULAR_EXPRESSION "expect_exit:")

# Rational frame rate (30000/1001), mono 44.1 kHz.
add_test(NAME render_rainy_testcard
         COMMAND $<TARGET_FILE:vkreel> render storyboards/rainy-window.json
                 -o ${VKR_RENDER_OUT}/rainy.mp4 --testcard --quiet
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_rainy_testcard PROPERTIES FIXTURES_SETUP rainy_mp4)
add_test(NAME verify_rainy_with_storyboard
         COMMAND $<TARGET_FILE:vkreel> verify ${VKR_RENDER_OUT}/rainy.mp4
                 --storyboard storyboards/rainy-window.json
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(verify_rainy_with_storyboard PROPERTIES FIXTURES_REQUIRED rainy_mp4)

# Exit codes.
add_test(NAME render_help COMMAND $<TARGET_FILE:vkreel> render --help)
set_tests_properties(render_help PROPERTIES PASS_REGULAR_EXPRESSION "--testcard")
add_test(NAME verify_help COMMAND $<TARGET_FILE:vkreel> verify --help)
set_tests_properties(verify_help PROPERTIES PASS_REGULAR_EXPRESSION "--storyboard FILE")
add_test(NAME render_no_output
         COMMAND ${VKR_EXPECT} 64 $<TARGET_FILE:vkreel> render storyboards/minimal.json --testcard
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME render_bad_seed
         COMMAND ${VKR_EXPECT} 64 $<TARGET_FILE:vkreel> render storyboards/minimal.json
                 -o ${VKR_RENDER_OUT}/x.mp4 --testcard --seed 12abc
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME render_no_model
         COMMAND ${VKR_EXPECT} 66 $<TARGET_FILE:vkreel> render storyboards/minimal.json
                 -o ${VKR_RENDER_OUT}/x.mp4
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_no_model PROPERTIES PASS_REGULAR_EXPRESSION "no video model"
                     FAIL_REGULAR_EXPRESSION "expect_exit:")
add_test(NAME render_missing_storyboard
         COMMAND ${VKR_EXPECT} 66 $<TARGET_FILE:vkreel> render tests/render/absent.json
                 -o ${VKR_RENDER_OUT}/x.mp4 --testcard
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME render_bad_storyboard
         COMMAND ${VKR_EXPECT} 65 $<TARGET_FILE:vkreel> render tests/render/bad-cue.json
                 -o ${VKR_RENDER_OUT}/x.mp4 --testcard
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_bad_storyboard PROPERTIES
                     PASS_REGULAR_EXPRESSION "bad-cue.json:[0-9]+:[0-9]+: /sfx/0/shot"
                     FAIL_REGULAR_EXPRESSION "expect_exit:")
add_test(NAME render_unwritable_output
         COMMAND ${VKR_EXPECT} 73 $<TARGET_FILE:vkreel> render storyboards/minimal.json
                 -o ${VKR_RENDER_OUT}/no-such-dir/x.mp4 --testcard --quiet
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME verify_missing_file
         COMMAND ${VKR_EXPECT} 66 $<TARGET_FILE:vkreel> verify ${VKR_RENDER_OUT}/absent.mp4)
add_test(NAME verify_not_media
         COMMAND ${VKR_EXPECT} 66 $<TARGET_FILE:vkreel> verify ${CMAKE_SOURCE_DIR}/tests/render/bad-cue.json)

# No cues, no subtitles (so no subtitle track), one shot.
add_test(NAME render_minimal_testcard
         COMMAND $<TARGET_FILE:vkreel> render storyboards/minimal.json
                 -o ${VKR_RENDER_OUT}/minimal.mp4 --testcard --quiet
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_minimal_testcard PROPERTIES FIXTURES_SETUP minimal_mp4)
add_test(NAME verify_minimal_with_storyboard
         COMMAND $<TARGET_FILE:vkreel> verify ${VKR_RENDER_OUT}/minimal.mp4
                 --storyboard storyboards/minimal.json
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(verify_minimal_with_storyboard PROPERTIES FIXTURES_REQUIRED minimal_mp4)

# crf 1, 24000/1001 fps, 8 kHz mono, 64x4096,
# crossfades that fill whole shots.
add_test(NAME render_tight_crossfades_testcard
         COMMAND $<TARGET_FILE:vkreel> render tests/storyboards/good/rational-fps-tight-crossfades.json
                 -o ${VKR_RENDER_OUT}/tight.mp4 --testcard --quiet
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_tight_crossfades_testcard PROPERTIES FIXTURES_SETUP tight_mp4)
add_test(NAME verify_tight_crossfades_with_storyboard
         COMMAND $<TARGET_FILE:vkreel> verify ${VKR_RENDER_OUT}/tight.mp4
                 --storyboard tests/storyboards/good/rational-fps-tight-crossfades.json
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(verify_tight_crossfades_with_storyboard PROPERTIES FIXTURES_REQUIRED tight_mp4)

# --seed re-derives every implicit seed and the embedded board says so: verify
# with the same --seed passes, without it the generation metadata differs.
add_test(NAME render_minimal_seed
         COMMAND $<TARGET_FILE:vkreel> render storyboards/minimal.json
                 -o ${VKR_RENDER_OUT}/seed7.mp4 --testcard --seed 7 --quiet
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_minimal_seed PROPERTIES FIXTURES_SETUP seed7_mp4)
add_test(NAME verify_seed_same
         COMMAND $<TARGET_FILE:vkreel> verify ${VKR_RENDER_OUT}/seed7.mp4
                 --storyboard storyboards/minimal.json --seed 7
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME verify_seed_missing
         COMMAND ${VKR_EXPECT} 65 $<TARGET_FILE:vkreel> verify ${VKR_RENDER_OUT}/seed7.mp4
                 --storyboard storyboards/minimal.json
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(verify_seed_same verify_seed_missing PROPERTIES FIXTURES_REQUIRED seed7_mp4)
set_tests_properties(verify_seed_missing PROPERTIES
                     PASS_REGULAR_EXPRESSION "generation metadata: FAIL"
                     FAIL_REGULAR_EXPRESSION "expect_exit:")
