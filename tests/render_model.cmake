# Model renders (`vkreel render --video-model`) on the tiny real-layout
# text-to-video model tests/golden/pipeline_t2v (64x64 native, lavapipe).
set(VKR_RMODEL_OUT ${CMAKE_CURRENT_BINARY_DIR}/render_model_out)
set(VKR_RMODEL_EXPECT sh ${CMAKE_SOURCE_DIR}/tests/render/expect_exit.sh)
file(MAKE_DIRECTORY ${VKR_RMODEL_OUT})
set(VKR_RMODEL_ARGS --video-model tests/golden/pipeline_t2v --video-size 64x64 --video-frames 4
    --video-fps 8)

# Two shots (DDIM, then Euler) joined by a crossfade, 128x72 at 12 fps, 2 steps
# each: both shots need two 4-frame windows; f16 weights (the default).
add_test(NAME render_model_two_shots
         COMMAND $<TARGET_FILE:vkreel> render tests/render_model/two-shots.json
                 -o ${VKR_RMODEL_OUT}/two.mp4 ${VKR_RMODEL_ARGS}
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_model_two_shots PROPERTIES FIXTURES_SETUP model_two_mp4
                     PASS_REGULAR_EXPRESSION "diffusion .*\\(8 steps"
                     FAIL_REGULAR_EXPRESSION "vkreel render:")
# A model render passes verify (no flash/beep sync: that is for test cards).
add_test(NAME verify_model_two_shots
         COMMAND $<TARGET_FILE:vkreel> verify ${VKR_RMODEL_OUT}/two.mp4
                 --storyboard tests/render_model/two-shots.json
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(verify_model_two_shots PROPERTIES FIXTURES_REQUIRED model_two_mp4
                     PASS_REGULAR_EXPRESSION "all 13 checks passed")

# diffusers' own latents (--latents) with the golden's parameters, f32 weights,
# 64x64 at 8 fps out (no scaling, no resampling): the decoded MP4 matches the
# golden frames up to H.264 (the exact comparison is tests/test_video_source.c).
add_test(NAME render_model_latents
         COMMAND $<TARGET_FILE:vkreel> render tests/render_model/golden-shot.json
                 -o ${VKR_RMODEL_OUT}/golden.mp4 ${VKR_RMODEL_ARGS} --dtype f32 --quiet
                 --latents tests/golden/pipeline_t2v/io.safetensors
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_model_latents PROPERTIES FIXTURES_SETUP model_golden_mp4)
find_program(VKR_FFMPEG NAMES ffmpeg)
find_program(VKR_RMODEL_PYTHON3 NAMES python3)
if(VKR_FFMPEG AND VKR_RMODEL_PYTHON3)
    add_test(NAME render_model_latents_frames
             COMMAND ${VKR_RMODEL_PYTHON3} tests/render_model/compare_frames.py
                     ${VKR_RMODEL_OUT}/golden.mp4 tests/golden/pipeline_t2v/io.safetensors 3
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(render_model_latents_frames PROPERTIES FIXTURES_REQUIRED model_golden_mp4
                         PASS_REGULAR_EXPRESSION "^.*\nok\n$")
endif()
add_test(NAME verify_model_latents
         COMMAND $<TARGET_FILE:vkreel> verify ${VKR_RMODEL_OUT}/golden.mp4
                 --storyboard tests/render_model/golden-shot.json
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(verify_model_latents PROPERTIES FIXTURES_REQUIRED model_golden_mp4)

# --latents covers one window of one shot: a longer board is a usage error.
add_test(NAME render_model_latents_too_long
         COMMAND ${VKR_RMODEL_EXPECT} 64 $<TARGET_FILE:vkreel> render tests/render_model/two-shots.json
                 -o ${VKR_RMODEL_OUT}/x.mp4 ${VKR_RMODEL_ARGS} --quiet
                 --latents tests/golden/pipeline_t2v/io.safetensors
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_model_latents_too_long PROPERTIES
                     PASS_REGULAR_EXPRESSION "--latents: the storyboard must have one shot"
                     FAIL_REGULAR_EXPRESSION "expect_exit:")
add_test(NAME render_model_missing_dir
         COMMAND ${VKR_RMODEL_EXPECT} 66 $<TARGET_FILE:vkreel> render tests/render_model/two-shots.json
                 -o ${VKR_RMODEL_OUT}/x.mp4 --video-model tests/render_model/absent
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_model_missing_dir PROPERTIES
                     PASS_REGULAR_EXPRESSION "video model directory 'tests/render_model/absent' not found"
                     FAIL_REGULAR_EXPRESSION "expect_exit:")
add_test(NAME render_model_bad_size
         COMMAND ${VKR_RMODEL_EXPECT} 64 $<TARGET_FILE:vkreel> render tests/render_model/two-shots.json
                 -o ${VKR_RMODEL_OUT}/x.mp4 --video-model tests/golden/pipeline_t2v --video-size 60x64
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_model_bad_size PROPERTIES
                     PASS_REGULAR_EXPRESSION "multiples of 8" FAIL_REGULAR_EXPRESSION "expect_exit:")

# With the sound track: the tiny AudioLDM (tests/golden/pipeline_audioldm)
# renders the shot's ambience and a cue (DPM-Solver++ on the video side), then
# verify; ffmpeg's volumedetect proves the AAC track is not silence.
add_test(NAME render_model_with_sound
         COMMAND $<TARGET_FILE:vkreel> render tests/render_model/with-sound.json
                 -o ${VKR_RMODEL_OUT}/sound.mp4 ${VKR_RMODEL_ARGS}
                 --audio-model tests/golden/pipeline_audioldm
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_model_with_sound PROPERTIES FIXTURES_SETUP model_sound_mp4
                     PASS_REGULAR_EXPRESSION "audio: 2 stems, -18.00 LUFS"
                     FAIL_REGULAR_EXPRESSION "vkreel render:")
add_test(NAME verify_model_with_sound
         COMMAND $<TARGET_FILE:vkreel> verify ${VKR_RMODEL_OUT}/sound.mp4
                 --storyboard tests/render_model/with-sound.json
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(verify_model_with_sound PROPERTIES FIXTURES_REQUIRED model_sound_mp4)
if(VKR_FFMPEG)
    add_test(NAME render_model_sound_not_silent
             COMMAND ${VKR_FFMPEG} -nostdin -v info -i ${VKR_RMODEL_OUT}/sound.mp4 -af volumedetect
                     -f null -)
    # max_volume above -30 dB (the silent track of a model render without an
    # audio model reads -91 dB).
    set_tests_properties(render_model_sound_not_silent PROPERTIES FIXTURES_REQUIRED model_sound_mp4
                         PASS_REGULAR_EXPRESSION "max_volume: -([0-9]|[12][0-9])\\.[0-9] dB")
endif()
add_test(NAME render_model_missing_audio_dir
         COMMAND ${VKR_RMODEL_EXPECT} 66 $<TARGET_FILE:vkreel> render tests/render_model/two-shots.json
                 -o ${VKR_RMODEL_OUT}/x.mp4 ${VKR_RMODEL_ARGS} --audio-model tests/render_model/absent
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(render_model_missing_audio_dir PROPERTIES
                     PASS_REGULAR_EXPRESSION "audio model directory 'tests/render_model/absent' not found"
                     FAIL_REGULAR_EXPRESSION "expect_exit:")
