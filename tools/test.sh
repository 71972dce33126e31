#!/usr/bin/env bash
# The whole test suite: installs what is needed (Debian packages, the Python
# oracles), builds, and runs every CTest test; then the same suite under
# ASan+UBSan, the concurrency test under ThreadSanitizer, and each libFuzzer
# harness for a bounded time on its committed corpus. Expects ../shared beside
# the repo. DOTS_TEST_QUICK=1 runs only the first (Release) stage; DOTS_FUZZ_SECONDS
# sets the time per fuzzer (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/setup_venv.sh
jobs=$(nproc)
stage() { echo "== test.sh: $1 ($(date +%T))"; }

stage "Release build and suite"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOTS_REQUIRE_ORACLES=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" "$@")
[ "${DOTS_TEST_QUICK:-0}" = 1 ] && exit 0

stage "ASan+UBSan build and suite"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOTS_SANITIZE=ON -DDOTS_REQUIRE_ORACLES=ON >/dev/null
cmake --build build-asan -j"$jobs"
# allocator_may_return_null: test_base asks for an impossible allocation and checks the error
(cd build-asan && ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs" -LE qemu "$@")  # qemu-user cannot host ASan shadow memory; the Release stage runs those

stage "ThreadSanitizer: test_concurrency"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOTS_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target test_concurrency
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --output-on-failure -R '^test_concurrency$')

stage "libFuzzer harnesses (${DOTS_FUZZ_SECONDS:-20} s each)"
CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOTS_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs"
for f in build-fuzz/tests/fuzz/fuzz_*; do
  name=${f##*/fuzz_}
  seeds=tests/fuzz/corpus/$name
  [ "$name" = image ] && seeds="tests/fuzz/corpus/png tests/fuzz/corpus/jpeg"
  work=$(mktemp -d)  # new inputs go here: the committed corpus is read-only
  echo "fuzz_$name"
  "$f" -max_total_time="${DOTS_FUZZ_SECONDS:-20}" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/" "$work" $seeds >"$work.log" 2>&1 || true
  grep -E '^(stat::number_of_executed_units|Done)' "$work.log" || true
  if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* >/dev/null 2>&1; then
    echo "fuzz_$name found a failing input:"; tail -n 60 "$work.log"; ls "$work"; exit 1
  fi
  rm -f "$work.log"
  rm -rf "$work"
done
stage "done"
