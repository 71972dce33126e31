# dotsocr serve on loopback with the tiny checkpoint: the real openai client, upstream's
# request shape, bad inputs, limits, /v1/parse against dotsocr parse (tests/py/test_server.py);
# and the mutation test of the server's parsers (base64, chat JSON, multipart).
if(DOTS_WITH_SERVER)
  add_executable(test_server_parsers ${CMAKE_CURRENT_SOURCE_DIR}/server_parsers.c ${CMAKE_CURRENT_SOURCE_DIR}/testutil.c)
  target_link_libraries(test_server_parsers PRIVATE dotsocr_lib)
  target_include_directories(test_server_parsers PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  add_test(NAME test_server_parsers COMMAND test_server_parsers)
  set_tests_properties(test_server_parsers PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 300)
  if(EXISTS "${DOTS_PYTHON}" AND DOTS_WITH_PDF)
    add_test(NAME test_server
      COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_server.py $<TARGET_FILE:dotsocr>
              ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/test_server)
    set_tests_properties(test_server PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 600)
  else()
    message(STATUS "test_server skipped: needs ${DOTS_PYTHON} (tools/setup_venv.sh) and DOTS_WITH_PDF")
  endif()
endif()
