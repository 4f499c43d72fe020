# GPU tests that need arguments or the CLI (tests/test_gpu_*.c register themselves).

# The >128 MiB tensor test allocates ~1 GiB: keep it out of the ASan run.
set_tests_properties(test_gpu_large PROPERTIES LABELS slow)

# `vkreel devices [args]` must exit 0 and print PATTERN; with no Vulkan driver it
# may instead exit 75 only when VKREEL_ALLOW_NO_GPU=1 (same rule as the C tests).
set(VKR_DEVICES_CHECK [=[
out=$("$0" devices "$2"); rc=$?
if [ $rc -eq 75 ] && [ "$VKREEL_ALLOW_NO_GPU" = 1 ]; then echo "SKIPPED: no Vulkan device"; exit 0; fi
printf '%s\n' "$out"
[ $rc -eq 0 ] && printf '%s' "$out" | grep -Eq "$1"
]=])
add_test(NAME cli_devices
  COMMAND sh -c "${VKR_DEVICES_CHECK}" $<TARGET_FILE:vkreel> "vkreel uses [0-9]+ [(][*][)]" "--device=")
add_test(NAME cli_devices_json
  COMMAND sh -c "${VKR_DEVICES_CHECK}" $<TARGET_FILE:vkreel> "\"max_storage_buffer_range\"" "--json")

add_test(NAME cli_devices_help COMMAND vkreel devices --help)
set_tests_properties(cli_devices_help PROPERTIES PASS_REGULAR_EXPRESSION "Usage: vkreel devices")

# An unknown --device is a usage error (exit 64).
add_test(NAME cli_devices_bad_spec
  COMMAND sh -c "\"$0\" devices --device no-such-gpu-xyz; test $? -eq 64" $<TARGET_FILE:vkreel>)

# No Vulkan driver at all: GPU tests must FAIL, unless VKREEL_ALLOW_NO_GPU=1 (then
# they say SKIPPED and pass); the CLI exits 75 (temporary failure).
add_test(NAME gpu_no_driver_fails COMMAND test_gpu_eltwise)
set_tests_properties(gpu_no_driver_fails PROPERTIES
  ENVIRONMENT "VK_ICD_FILENAMES=/nonexistent/vkreel-no-icd.json;VK_DRIVER_FILES=/nonexistent/vkreel-no-icd.json"
  WILL_FAIL TRUE)
add_test(NAME gpu_no_driver_allowed COMMAND test_gpu_eltwise)
set_tests_properties(gpu_no_driver_allowed PROPERTIES
  ENVIRONMENT "VK_ICD_FILENAMES=/nonexistent/vkreel-no-icd.json;VK_DRIVER_FILES=/nonexistent/vkreel-no-icd.json;VKREEL_ALLOW_NO_GPU=1"
  PASS_REGULAR_EXPRESSION "SKIPPED")
add_test(NAME cli_devices_no_driver
  COMMAND sh -c "VK_ICD_FILENAMES=/nonexistent/x.json VK_DRIVER_FILES=/nonexistent/x.json \"$0\" devices; test $? -eq 75"
          $<TARGET_FILE:vkreel>)
