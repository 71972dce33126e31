#!/bin/sh
# Cross-compiles the kernels (generic + NEON) and their tests for arm64 and
# runs them under qemu user emulation. Usage: arm64_cross_test.sh SOURCE_DIR BUILD_DIR
# Needs gcc-aarch64-linux-gnu and qemu-user-static (tools/install_deps.sh).
# QEMU_CPUS (default "max cortex-a72") picks the CPU models; ARM64_CFLAGS adds
# compiler flags (e.g. -O3, what a native Release build uses).
set -e
src=${1:?source dir}
out=${2:?build dir}
cc=${CC_AARCH64:-aarch64-linux-gnu-gcc}
qemu=${QEMU_AARCH64:-qemu-aarch64-static}
sysroot=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
command -v "$cc" >/dev/null || { echo "arm64_cross_test: $cc not found (run tools/install_deps.sh)"; exit 1; }
command -v "$qemu" >/dev/null || { echo "arm64_cross_test: $qemu not found (run tools/install_deps.sh)"; exit 1; }
mkdir -p "$out"
libsrc=""
for f in "$src"/src/base/*.c "$src"/src/kernels/*.c; do
    case "$f" in *_avx2.c|*_avx512.c|*_avx512bf16.c|*_amx.c) continue ;; esac
    libsrc="$libsrc $f"
done
flags="-std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-format-truncation -fno-math-errno -march=armv8-a
       -DDOTS_X86=0 -DDOTS_ARM64=1 -I$src/include -I$src/src -I$src/tests ${ARM64_CFLAGS:-}"
# the library once, then one program per test
objs=""
for f in $libsrc; do
    o="$out/$(basename "$f" .c).o"
    # shellcheck disable=SC2086
    $cc $flags -c -o "$o" "$f"
    objs="$objs $o"
done
# Each test runs on two CPU models: "max" has FEAT_BF16 (the BFDOT/BFMMLA
# level runs too), cortex-a72 is plain ARMv8.0 NEON (a bf16 instruction there
# would be SIGILL). DOTS_EXPECT_ARM_BF16 tells test_kernels_arm_features which.
status=0
for t in "$src"/tests/test_kernels*.c; do
    name=$(basename "$t" .c)
    # shellcheck disable=SC2086
    $cc $flags -o "$out/$name" "$t" "$src/tests/testutil.c" $objs -lm -lpthread
done
# bench/kernels too (it needs only the kernels): a smoke run per CPU model shows
# that it runs (no SIGILL) and reports the level the CPU has.
bench=""
if [ -f "$src/bench/kernels.c" ] && [ -f "$src/bench/bench_util.c" ]; then
    bench="$out/bench_kernels"
    # shellcheck disable=SC2086
    $cc $flags -I"$src/bench" -o "$bench" "$src/bench/kernels.c" "$src/bench/bench_util.c" $objs -lm -lpthread
fi
for cpu in ${QEMU_CPUS:-max cortex-a72}; do
    case "$cpu" in max) expect=1 ;; cortex-a72|cortex-a53|cortex-a57|neoverse-n1) expect=0 ;; *) expect= ;; esac
    for t in "$src"/tests/test_kernels*.c; do
        name=$(basename "$t" .c)
        echo "== $name (arm64, qemu -cpu $cpu)"
        if [ -n "$expect" ]; then
            DOTS_EXPECT_ARM_BF16=$expect "$qemu" -cpu "$cpu" -L "$sysroot" "$out/$name" || status=1
        else
            "$qemu" -cpu "$cpu" -L "$sysroot" "$out/$name" || status=1
        fi
    done
    if [ -n "$bench" ]; then
        echo "== bench/kernels smoke (arm64, qemu -cpu $cpu; figures mean nothing under emulation)"
        log="$out/bench_kernels.$cpu.log"
        if ! DOTS_BENCH_SMOKE=1 "$qemu" -cpu "$cpu" -L "$sysroot" "$bench" 2 smoke >"$log" 2>&1; then
            cat "$log"; echo "FAIL bench/kernels on -cpu $cpu exited non-zero"; status=1
        fi
        level=$(sed -n 's/^ISA \([a-z0-9]*\),.*/\1/p' "$log")
        want=""
        [ "$expect" = 1 ] && want=neonbf16
        [ "$expect" = 0 ] && want=neon
        echo "bench/kernels ran on level '$level'"
        if [ -z "$level" ] || { [ -n "$want" ] && [ "$level" != "$want" ]; }; then
            echo "FAIL bench/kernels on -cpu $cpu: level '$level', want '$want'"; status=1
        fi
    fi
done
exit $status
