# Image preprocessing parity against Pillow and transformers' Qwen2VLImageProcessor
# (PIL path) with dots.ocr's preprocessor_config.json; needs the .venv oracles.
if(EXISTS "${DOTS_PYTHON}")
  add_test(NAME test_preprocess_parity
    COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_preprocess.py ${CMAKE_CURRENT_BINARY_DIR}/preprocess_work)
  set_tests_properties(test_preprocess_parity PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 300)
else()
  message(STATUS "image parity test skipped: ${DOTS_PYTHON} not found (run tools/setup_venv.sh)")
endif()
