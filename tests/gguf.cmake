# GGUF models written by PyPI gguf in llama.cpp's dots.ocr layout (fixtures made at test time in
# the build folder) against the same weights from Hugging Face folders; the GGUF tokenizer against
# tokenizers' ids. test_gguf (the reader/writer and its malformed-file cases) is a C test.
if(EXISTS "${DOTS_PYTHON}")
  add_test(NAME gguf_pypi COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_gguf_pypi.py ${PROJECT_BINARY_DIR}/tokenizer-data/tokenizer.json)
  set_tests_properties(gguf_pypi PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 300)
else()
  message(STATUS "gguf_pypi skipped: ${DOTS_PYTHON} missing (tools/setup_venv.sh)")
endif()
