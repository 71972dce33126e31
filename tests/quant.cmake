# Quantized weights (Q8_0, Q4_K): the reference quantizer against PyPI gguf.
# tests/tools/quant_rows.c exposes our quantize/dequantize on stdin/stdout.
add_executable(quant_rows ${CMAKE_CURRENT_SOURCE_DIR}/tools/quant_rows.c)
target_link_libraries(quant_rows PRIVATE dotsocr_lib)
if(EXISTS "${DOTS_PYTHON}")
  add_test(NAME quant_gguf_oracle
    COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_quant_gguf.py $<TARGET_FILE:quant_rows>)
  set_tests_properties(quant_gguf_oracle PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 300)
else()
  message(STATUS "quant gguf oracle test skipped: ${DOTS_PYTHON} not found (run tools/setup_venv.sh)")
endif()

# The int8 kernels on arm64 (NEON, dotprod, i8mm) under qemu: tools/arm64_quant_test.sh.
find_program(DOTS_AARCH64_CC aarch64-linux-gnu-gcc)
find_program(DOTS_QEMU_AARCH64 qemu-aarch64-static)
if(DOTS_X86 AND DOTS_AARCH64_CC AND DOTS_QEMU_AARCH64)
  add_test(NAME test_quant_kernels_arm64
    COMMAND sh ${PROJECT_SOURCE_DIR}/tools/arm64_quant_test.sh ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/arm64-quant)
  set_tests_properties(test_quant_kernels_arm64 PROPERTIES TIMEOUT 600)
endif()
