# GGUF models written by PyPI gguf in llama.cpp's dots.ocr layout (fixtures made at test time in
# the build folder) against the same weights from Hugging Face folders; the GGUF tokenizer against
# tokenizers' ids; dotsocr quantize against gguf's quantizer; Q8_0 drift (dotsocr drift) limits;
# a llama.cpp-style Q4_K_M file (Q4_K + Q6_K tensors) against its gguf dequantization.
# test_gguf (the reader/writer and its malformed-file cases) is a C test.
if(EXISTS "${DOTS_PYTHON}")
  foreach(part model drift q4_k_m)
    add_test(NAME gguf_pypi_${part} COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_gguf_pypi.py
             ${PROJECT_BINARY_DIR}/tokenizer-data/tokenizer.json ${part})
    set_tests_properties(gguf_pypi_${part} PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 600)
  endforeach()
else()
  message(STATUS "gguf_pypi skipped: ${DOTS_PYTHON} missing (tools/setup_venv.sh)")
endif()
