#!/bin/sh
# Cross-compiles the library's base + kernels (generic and NEON) with
# tests/test_quant_kernels.c for arm64 and runs it under qemu user emulation on
# two CPUs: -cpu max (dotprod + i8mm: every int8 level) and -cpu cortex-a72
# (plain NEON only). Usage: arm64_quant_test.sh SOURCE_DIR BUILD_DIR
set -e
src=${1:?source dir}
out=${2:?build dir}
cc=${CC_AARCH64:-aarch64-linux-gnu-gcc}
qemu=${QEMU_AARCH64:-qemu-aarch64-static}
sysroot=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
command -v "$cc" >/dev/null || { echo "arm64_quant_test: $cc not found (run tools/install_deps.sh)"; exit 1; }
command -v "$qemu" >/dev/null || { echo "arm64_quant_test: $qemu not found (run tools/install_deps.sh)"; exit 1; }
mkdir -p "$out"
flags="-std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-format-truncation -fno-math-errno -march=armv8-a
       -DDOTS_X86=0 -DDOTS_ARM64=1 -I$src/include -I$src/src -I$src/tests"
objs=""
for f in "$src"/src/base/*.c "$src"/src/kernels/*.c; do
    case "$f" in *_avx2.c|*_avx512.c|*_avx512bf16.c|*_amx.c) continue ;; esac
    o="$out/$(basename "$f" .c).o"
    extra=""
    case "$f" in */base/quant.c) extra="-ffp-contract=off -O3" ;; esac # as CMakeLists.txt builds it
    # shellcheck disable=SC2086
    $cc $flags $extra -c -o "$o" "$f"
    objs="$objs $o"
done
# shellcheck disable=SC2086
$cc $flags -o "$out/test_quant_kernels" "$src/tests/test_quant_kernels.c" "$src/tests/testutil.c" $objs -lm -lpthread
status=0
for cpu in max cortex-a72; do
    echo "== test_quant_kernels (arm64, qemu -cpu $cpu)"
    "$qemu" -cpu "$cpu" -L "$sysroot" "$out/test_quant_kernels" || status=1
done
exit $status
