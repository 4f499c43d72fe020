# `vkreel bench kernels`: --help, usage errors, --list without a GPU, and a smoke
# run whose --json output must be valid JSON lines in bench_torch.py's schema.
# The smoke run uses the small cases only (--only) and one timed run (--runs 1,
# --min-time 0): the real-shape GEMM takes minutes on lavapipe.
add_test(NAME cli_bench_help COMMAND vkreel bench --help)
set_tests_properties(cli_bench_help PROPERTIES PASS_REGULAR_EXPRESSION "Usage: vkreel bench kernels")
add_test(NAME cli_bench_bad_arg COMMAND sh -c "\"$0\" bench kernels --dtype f64; test $? -eq 64" $<TARGET_FILE:vkreel>)
add_test(NAME cli_bench_bad_only
  COMMAND sh -c "\"$0\" bench kernels --list --only no_such_op; test $? -eq 64" $<TARGET_FILE:vkreel>)
add_test(NAME cli_bench_list COMMAND vkreel bench kernels --list --quick)
set_tests_properties(cli_bench_list PROPERTIES PASS_REGULAR_EXPRESSION "gemm +matmul +17280x1280x5120")

set(VKR_BENCH_SMOKE [=[
out=$("$0" bench kernels --quick --json --runs 1 --min-time 0 --only linear_cross_kv,linear_time_mlp); rc=$?
if [ $rc -eq 75 ] && [ "$VKREEL_ALLOW_NO_GPU" = 1 ]; then echo "SKIPPED: no Vulkan device"; exit 0; fi
[ $rc -eq 0 ] || exit 1
printf '%s\n' "$out" | "$1" -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
assert len(rows) == 2, rows
for r in rows:
    assert list(r) == ["op", "shape", "dtype", "impl", "threads", "ms", "gflops", "gbps"], list(r)
    assert r["ms"] > 0 and r["gflops"] > 0 and r["dtype"] == "f32", r
assert [r["op"] for r in rows] == ["linear_cross_kv", "linear_time_mlp"]
assert rows[0]["shape"] == "77x1024x320", rows[0]
print("bench JSON ok:", rows)
'
]=])
find_program(VKR_PYTHON3 NAMES python3)
if(VKR_PYTHON3)
  add_test(NAME cli_bench_smoke_json
    COMMAND sh -c "${VKR_BENCH_SMOKE}" $<TARGET_FILE:vkreel> ${VKR_PYTHON3})
  # bench_compare.py joins bench_torch.py-style and vkreel rows
  add_test(NAME bench_compare
    COMMAND sh -c "printf '%s\\n' '{\"op\": \"gemm\", \"shape\": \"1x2x3\", \"dtype\": \"f32\", \"impl\": \"t\", \"ms\": 2.0, \"gflops\": 3.0, \"gbps\": null}' > bench_compare_a.jsonl && printf '%s\\n' 'warning: x' '{\"op\": \"gemm\", \"shape\": \"1x2x3\", \"dtype\": \"f32\", \"impl\": \"v\", \"ms\": 8.0, \"gflops\": 0.75, \"gbps\": null}' > bench_compare_b.jsonl && \"$0\" \"$1\" bench_compare_a.jsonl bench_compare_b.jsonl"
            ${VKR_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/bench_compare.py
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(bench_compare PROPERTIES PASS_REGULAR_EXPRESSION "[|] gemm [|] 1x2x3 [|] f32 [|] 2.000 [|] 8.000 [|] 3.000 [|] 0.750 [|] 0.25x [|]")
endif()
