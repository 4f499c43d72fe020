#!/bin/sh
# Builds vkreel twice and runs the whole test suite on each build:
#   build/         Release, -Wall -Wextra -Werror
#   build-asan/    Debug with AddressSanitizer + UndefinedBehaviorSanitizer
# then runs the storyboard parser fuzzer for $VKREEL_FUZZ_SECONDS (default 60 s)
# under ASan/UBSan. Exits non-zero on the first failure.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
export VKREEL_VALIDATE=1

echo "== Release build (-Werror) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVKREEL_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

echo "== ASan + UBSan build =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVKREEL_SANITIZE=ON -DVKREEL_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs"
# lavapipe and the Vulkan loader keep some allocations for the life of the process.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd build-asan && ctest --output-on-failure -j "$jobs" --timeout 1800 -LE slow)

if command -v clang >/dev/null 2>&1; then
    echo "== libFuzzer: storyboard parser, ${VKREEL_FUZZ_SECONDS:-60} s =="
    CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DVKREEL_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
    cmake --build build-fuzz -j "$jobs" --target fuzz_storyboard
    mkdir -p build-fuzz/corpus
    build-fuzz/fuzz_storyboard -max_total_time="${VKREEL_FUZZ_SECONDS:-60}" -max_len=65536 \
        -timeout=10 build-fuzz/corpus tests/storyboards/good tests/storyboards/bad storyboards
fi
echo "== all tests passed =="
