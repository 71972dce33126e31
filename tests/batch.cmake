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
  # batched == alone rests on the kernels' row exactness (kernels.h), which each level
  # meets its own way: "exact" again per level (one the CPU lacks falls back to the best;
  # scalar, the slowest, with shorter answers)
  if(DOTS_X86)
    set(_batch_levels avx512 avx2 scalar)
  else()
    set(_batch_levels neon scalar)
  endif()
  foreach(isa IN LISTS _batch_levels)
    add_test(NAME test_batch_${isa}
      COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_batch.py $<TARGET_FILE:batch_check> exact)
    set(_batch_env ${DOTS_TEST_ENV} DOTS_ISA=${isa})
    if(isa STREQUAL "scalar")
      list(APPEND _batch_env DOTS_BATCH_QUICK=1)
    endif()
    set_tests_properties(test_batch_${isa} PROPERTIES ENVIRONMENT "${_batch_env}" TIMEOUT 600)
  endforeach()
else()
  message(STATUS "test_batch skipped: ${DOTS_PYTHON} missing (tools/setup_venv.sh)")
endif()
