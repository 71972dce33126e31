# Tokenizer tests. The committed test tokenizer (real Qwen2 vocabulary + the dots.ocr added tokens,
# tools/make_test_tokenizer.py) is unpacked at configure time into the build folder.
set(DOTS_TOK_ARCHIVE ${CMAKE_CURRENT_SOURCE_DIR}/data/tokenizer/tokenizer.tar.xz)
set(DOTS_TOK_JSON ${PROJECT_BINARY_DIR}/tokenizer-data/tokenizer.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${DOTS_TOK_ARCHIVE})
file(ARCHIVE_EXTRACT INPUT ${DOTS_TOK_ARCHIVE} DESTINATION ${PROJECT_BINARY_DIR}/tokenizer-data)

if(EXISTS ${DOTS_PYTHON})
  add_test(NAME tokenizer_parity
    COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_tokenizer_parity.py ${DOTS_TOK_JSON})
  set_tests_properties(tokenizer_parity PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 300)
  add_test(NAME tokenizer_prompts_data
    COMMAND ${DOTS_PYTHON} ${PROJECT_SOURCE_DIR}/tools/make_prompts_data.py --check)
  set_tests_properties(tokenizer_prompts_data PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 60)
endif()

if(EXISTS ${DOTS_PYTHON})
  add_test(NAME tokenizer_cli COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_tokenizer_cli.py ${DOTS_TOK_JSON})
  set_tests_properties(tokenizer_cli PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 60)
endif()
