# `vkreel sfx` CLI tests on the tiny AudioLDM directory tests/golden/pipeline_audioldm
# (the real file layout with tiny random weights: the sound is noise-like, but
# length, rate, format, levels and metadata are exact). Few steps, < 1 s clips.
set(VKR_SFX_OUT ${CMAKE_CURRENT_BINARY_DIR}/sfx_out)
file(MAKE_DIRECTORY ${VKR_SFX_OUT})
set(VKR_SFX_MODEL ${CMAKE_SOURCE_DIR}/tests/golden/pipeline_audioldm)
set(VKR_SFX_EXPECT sh ${CMAKE_SOURCE_DIR}/tests/render/expect_exit.sh)
add_executable(sfx_wavcheck ${CMAKE_SOURCE_DIR}/tests/sfx/wavcheck.c)
target_link_libraries(sfx_wavcheck PRIVATE vkreel_core)
set(VKR_WAVCHECK $<TARGET_FILE:sfx_wavcheck>)

add_test(NAME sfx_help COMMAND $<TARGET_FILE:vkreel> sfx --help)
set_tests_properties(sfx_help PROPERTIES PASS_REGULAR_EXPRESSION "--stems DIR")

# Prompt mode: 0.5 s at 48 kHz is exactly 24000 samples, true peak -1 dBTP,
# float WAV, metadata. Not --quiet: the per-step progress must reach the end.
add_test(NAME sfx_prompt
         COMMAND $<TARGET_FILE:vkreel> sfx "a dog barking" -d 0.5 -o ${VKR_SFX_OUT}/dog.wav
                 --audio-model ${VKR_SFX_MODEL} --seed 7 --steps 3)
set_tests_properties(sfx_prompt PROPERTIES FIXTURES_SETUP sfx_dog
                     PASS_REGULAR_EXPRESSION "sfx: step 3/3"
                     FAIL_REGULAR_EXPRESSION "vkreel sfx:")
add_test(NAME sfx_prompt_check
         COMMAND ${VKR_WAVCHECK} ${VKR_SFX_OUT}/dog.wav --rate 48000 --channels 1 --frames 24000 --float
                 --true-peak -1 0.01 --title "a dog barking" --comment-has "seed: 7"
                 --comment-has "steps: 3" --comment-has "model: pipeline_audioldm"
                 --comment-has "prompt: a dog barking")
set_tests_properties(sfx_prompt_check PROPERTIES FIXTURES_REQUIRED sfx_dog)

# An odd length at 22.05 kHz in 24-bit PCM with Griffin-Lim: round(0.3337 x 22050) = 7358.
add_test(NAME sfx_prompt_s24
         COMMAND $<TARGET_FILE:vkreel> sfx "rain" -d 0.3337 -o ${VKR_SFX_OUT}/rain.wav --rate 22050
                 --format s24 --vocoder griffinlim --audio-model ${VKR_SFX_MODEL} --steps 2 --quiet)
set_tests_properties(sfx_prompt_s24 PROPERTIES FIXTURES_SETUP sfx_rain)
add_test(NAME sfx_prompt_s24_check
         COMMAND ${VKR_WAVCHECK} ${VKR_SFX_OUT}/rain.wav --rate 22050 --channels 1 --frames 7358 --pcm24
                 --true-peak -1 0.02 --comment-has "vocoder: griffinlim")
set_tests_properties(sfx_prompt_s24_check PROPERTIES FIXTURES_REQUIRED sfx_rain)

# Storyboard mode: exactly the stems of tests/sfx/board.json plus mix.wav.
add_test(NAME sfx_stems
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/sfx/stems.sh $<TARGET_FILE:vkreel> tests/sfx/board.json
                 ${VKR_SFX_OUT}/stems ambience-street.wav ambience-park.wav sfx-horn.wav music.wav mix.wav
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(sfx_stems PROPERTIES FIXTURES_SETUP sfx_stems_dir)
# Spans at 44.1 kHz: street [0, 0.7 s) and park [0.5, 1.2 s) share the 0.2 s
# crossfade; horn 0.3 s; music and mix the whole 1.2 s clip.
add_test(NAME sfx_stems_check
         COMMAND sh -c "set -e
           '${VKR_WAVCHECK}' ambience-street.wav --rate 44100 --channels 1 --frames 30870 --true-peak-max -1
           '${VKR_WAVCHECK}' ambience-park.wav --rate 44100 --channels 1 --frames 30870 --true-peak-max -1
           '${VKR_WAVCHECK}' sfx-horn.wav --rate 44100 --channels 1 --frames 13230 --true-peak -1 0.01 --title horn --comment-has 'seed: 99' --comment-has 'start sample: 11025'
           '${VKR_WAVCHECK}' music.wav --rate 44100 --channels 1 --frames 52920 --title music
           '${VKR_WAVCHECK}' mix.wav --rate 44100 --channels 2 --frames 52920 --lufs -18 0.5 --true-peak-max -1.5 --title 'sfx stems test'"
         WORKING_DIRECTORY ${VKR_SFX_OUT}/stems)
set_tests_properties(sfx_stems_check PROPERTIES FIXTURES_REQUIRED sfx_stems_dir)
# The horn stem is the prompt-mode effect with the cue's seed, length and sampler.
add_test(NAME sfx_prompt_equals_stem
         COMMAND sh -c "set -e
           '$<TARGET_FILE:vkreel>' sfx 'car horn' -d 0.3 --rate 44100 --seed 99 --steps 2 --guidance 2.5 --audio-model '${VKR_SFX_MODEL}' -o horn.wav --quiet
           '${VKR_WAVCHECK}' horn.wav --same-as stems/sfx-horn.wav"
         WORKING_DIRECTORY ${VKR_SFX_OUT})
set_tests_properties(sfx_prompt_equals_stem PROPERTIES FIXTURES_REQUIRED sfx_stems_dir)

# Exit codes: 66 for a missing model or board, 64 for bad arguments, 65 for an
# invalid board, 73 for an output that cannot be written.
add_test(NAME sfx_no_model
         COMMAND ${VKR_SFX_EXPECT} 66 $<TARGET_FILE:vkreel> sfx "x" -d 1 -o ${VKR_SFX_OUT}/x.wav)
add_test(NAME sfx_model_dir_missing
         COMMAND ${VKR_SFX_EXPECT} 66 $<TARGET_FILE:vkreel> sfx "x" -d 1 -o ${VKR_SFX_OUT}/x.wav
                 --audio-model ${VKR_SFX_OUT}/no-such-model)
add_test(NAME sfx_board_without_model
         COMMAND ${VKR_SFX_EXPECT} 66 $<TARGET_FILE:vkreel> sfx storyboards/minimal.json --stems ${VKR_SFX_OUT}/none
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(sfx_no_model sfx_model_dir_missing sfx_board_without_model PROPERTIES
                     PASS_REGULAR_EXPRESSION "no audio model|not found" FAIL_REGULAR_EXPRESSION "expect_exit:")
add_test(NAME sfx_board_missing
         COMMAND ${VKR_SFX_EXPECT} 66 $<TARGET_FILE:vkreel> sfx ${VKR_SFX_OUT}/no-such-board.json --stems ${VKR_SFX_OUT}/none)
add_test(NAME sfx_board_invalid
         COMMAND ${VKR_SFX_EXPECT} 65 $<TARGET_FILE:vkreel> sfx tests/storyboards/bad/loudness-lufs-out.json
                 --stems ${VKR_SFX_OUT}/none --audio-model ${VKR_SFX_MODEL}
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME sfx_no_output COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx "x" -d 1)
add_test(NAME sfx_bad_duration COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx "x" -d 1s -o x.wav)
add_test(NAME sfx_bad_format COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx "x" -d 1 -o x.wav --format mp3)
add_test(NAME sfx_bad_steps COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx "x" -d 1 -o x.wav --steps 0)
add_test(NAME sfx_bad_rate COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx "x" -d 1 -o x.wav --rate 4000)
add_test(NAME sfx_unknown_option COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx "x" -d 1 -o x.wav --loud)
add_test(NAME sfx_missing_value COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx "x" -d 1 -o x.wav --seed)
add_test(NAME sfx_two_args COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx "x" "y" -d 1 -o x.wav)
add_test(NAME sfx_stems_with_seed
         COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx tests/sfx/board.json --stems ${VKR_SFX_OUT}/none --seed 3
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(sfx_stems_with_seed PROPERTIES PASS_REGULAR_EXPRESSION "--seed is for prompt mode")
add_test(NAME sfx_board_as_prompt
         COMMAND ${VKR_SFX_EXPECT} 64 $<TARGET_FILE:vkreel> sfx tests/sfx/board.json -d 1 -o x.wav
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(sfx_board_as_prompt PROPERTIES PASS_REGULAR_EXPRESSION "with --stems DIR")
add_test(NAME sfx_output_dir_missing
         COMMAND ${VKR_SFX_EXPECT} 73 $<TARGET_FILE:vkreel> sfx "x" -d 0.1 -o ${VKR_SFX_OUT}/no/such/dir/x.wav
                 --audio-model ${VKR_SFX_MODEL})
