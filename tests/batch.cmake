# Batched generation (dots_generate_batch) against each request alone, the KV budget, the
# repetition guard end to end and output kept on failure: tests/py/test_batch.py builds the
# checkpoints (tools/make_random_checkpoint.py, tools/make_loop_checkpoint.py) and runs
# tests/batch_check.c on them.
add_executable(batch_check ${CMAKE_CURRENT_SOURCE_DIR}/batch_check.c ${CMAKE_CURRENT_SOURCE_DIR}/testutil.c)
target_link_libraries(batch_check PRIVATE dotsocr_lib ${CMAKE_DL_LIBS})
target_include_directories(batch_check PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
if(EXISTS "${DOTS_PYTHON}")
  add_test(NAME test_batch COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_batch.py $<TARGET_FILE:batch_check>)
  set_tests_properties(test_batch PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 600)
else()
  message(STATUS "test_batch skipped: ${DOTS_PYTHON} missing (tools/setup_venv.sh)")
endif()
