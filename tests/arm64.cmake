# Kernels on arm64: cross-compile src/base + src/kernels (generic and *_neon.c)
# with the kernel tests, run them under qemu-aarch64-static. x86 hosts only.
find_program(DOTS_AARCH64_CC aarch64-linux-gnu-gcc)
find_program(DOTS_QEMU_AARCH64 qemu-aarch64-static)
if(DOTS_X86 AND DOTS_AARCH64_CC AND DOTS_QEMU_AARCH64)
  add_test(NAME test_kernels_arm64
    COMMAND sh ${PROJECT_SOURCE_DIR}/tools/arm64_cross_test.sh ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/arm64)
  set_tests_properties(test_kernels_arm64 PROPERTIES TIMEOUT 900)
elseif(DOTS_X86)
  message(STATUS "arm64 kernel test skipped: aarch64-linux-gnu-gcc or qemu-aarch64-static missing (tools/install_deps.sh)")
endif()
