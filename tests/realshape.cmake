# Real-shape model directories and `vkreel bench model` (docs/memory.md):
#  - tools/make_random_model.py --selftest: its name/shape enumerations equal the
#    golden checkpoints saved by diffusers / transformers (all 7 components);
#  - a random-weights directory generated from the golden pipelines' configs
#    (f16 torch .bin for video, f32 safetensors for audio) loads in vkreel (every
#    loader fails naming a missing / mis-shaped / unused tensor) and runs every
#    stage of `vkreel bench model --json`, real and --dry-run, with identical
#    memory peaks;
#  - CLI usage errors. The real-size directories are GBs: see docs/memory.md.
add_test(NAME cli_bench_model_help COMMAND vkreel bench model --help)
set_tests_properties(cli_bench_model_help PROPERTIES PASS_REGULAR_EXPRESSION "--video-model DIR")
add_test(NAME cli_bench_model_no_model COMMAND sh -c "\"$0\" bench model --json; test $? -eq 64" $<TARGET_FILE:vkreel>)
add_test(NAME cli_bench_model_bad_size
  COMMAND sh -c "\"$0\" bench model --video-model x --size 64; test $? -eq 64" $<TARGET_FILE:vkreel>)
add_test(NAME cli_bench_model_missing_dir
  COMMAND sh -c "\"$0\" bench model --video-model /nonexistent/model; rc=$?; [ $rc -eq 66 ] || [ $rc -eq 75 ]"
          $<TARGET_FILE:vkreel>)

find_program(VKR_RS_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(VKR_RS_PYTHON3)
  execute_process(COMMAND ${VKR_RS_PYTHON3} -c "import numpy, torch" RESULT_VARIABLE VKR_RS_NO_TORCH
                  OUTPUT_QUIET ERROR_QUIET)
endif()
if(VKR_RS_PYTHON3 AND VKR_RS_NO_TORCH EQUAL 0)
  add_test(NAME make_random_model_selftest COMMAND ${VKR_RS_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/make_random_model.py --selftest)
  set_tests_properties(make_random_model_selftest PROPERTIES FAIL_REGULAR_EXPRESSION "MISMATCH")

  set(VKR_RS_SMOKE [=[
set -e
dir=$(mktemp -d /tmp/vkreel_realshape.XXXXXX); trap 'rm -rf "$dir"' EXIT
"$1" "$2/tools/make_random_model.py" "$dir/$3" --from "$2/tests/golden/$3" $4 --seed 5 > /dev/null
set +e
real=$("$0" bench model $5 "$dir/$3" $6 --json); rc=$?
if [ $rc -eq 75 ] && [ "$VKREEL_ALLOW_NO_GPU" = 1 ]; then echo "SKIPPED: no Vulkan device"; exit 0; fi
[ $rc -eq 0 ] || exit 1
dry=$("$0" bench model $5 "$dir/$3" $6 --json --dry-run) || exit 1
set -e
printf '%s\n%s\n' "$real" "$dry" | "$1" -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
real = [r for r in rows if not r["dry_run"]]
dry = [r for r in rows if r["dry_run"]]
assert len(real) == len(dry) >= 5, (len(real), len(dry))
for a, b in zip(real, dry):
    assert a["stage"] == b["stage"], (a, b)
    for k in ("weights_bytes", "tensors_peak", "activation_peak", "device_alloc_peak"):
        assert a[k] == b[k], (a["stage"], k, a[k], b[k])
    assert a["tensors_peak"] > 0 and a["seconds"] >= 0, a
loads = [r for r in real if r["stage"].startswith("load")]
assert all(r["weights_bytes"] > 0 for r in loads), loads
print("ok:", [(r["stage"], r["tensors_peak"]) for r in real])
'
]=])
  add_test(NAME realshape_t2v_bin_f16
    COMMAND sh -c "${VKR_RS_SMOKE}" $<TARGET_FILE:vkreel> ${VKR_RS_PYTHON3} ${CMAKE_SOURCE_DIR}
            pipeline_t2v "--dtype f16 --format bin" --video-model "--size 64x48 --frames 3 --dtype f16")
  add_test(NAME realshape_audioldm_f32
    COMMAND sh -c "${VKR_RS_SMOKE}" $<TARGET_FILE:vkreel> ${VKR_RS_PYTHON3} ${CMAKE_SOURCE_DIR}
            pipeline_audioldm "--dtype f32" --audio-model "--audio-frames 32 --dtype f32")
endif()

# The UNet3D on a random-weights directory vs the PyTorch reference (tools/unet3d_reference.py in
# float32) on the inputs and output vkreel dumps: the numerics, not just the shapes.
if(VKR_RS_PYTHON3 AND VKR_RS_NO_TORCH EQUAL 0)
  set(VKR_RS_CHECK [=[
set -e
dir=$(mktemp -d /tmp/vkreel_realshape.XXXXXX); trap 'rm -rf "$dir"' EXIT
"$1" "$2/tools/make_random_model.py" "$dir/m" --from "$2/tests/golden/pipeline_t2v" --dtype f32 --seed 9 > /dev/null
set +e
"$0" bench model --video-model "$dir/m" --skip-text --skip-vae --size 48x40 --frames 3 --dtype f32 \
    --dump-unet "$dir/unet.safetensors" > /dev/null; rc=$?
if [ $rc -eq 75 ] && [ "$VKREEL_ALLOW_NO_GPU" = 1 ]; then echo "SKIPPED: no Vulkan device"; exit 0; fi
[ $rc -eq 0 ] || exit 1
"$1" "$2/tools/bench_torch_model.py" "$dir/m" --check "$dir/unet.safetensors"
]=])
  add_test(NAME realshape_t2v_unet_vs_torch
    COMMAND sh -c "${VKR_RS_CHECK}" $<TARGET_FILE:vkreel> ${VKR_RS_PYTHON3} ${CMAKE_SOURCE_DIR})
  set_tests_properties(realshape_t2v_unet_vs_torch PROPERTIES PASS_REGULAR_EXPRESSION "unet check .* ok")
endif()
