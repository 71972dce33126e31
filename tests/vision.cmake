# Vision tower tests in Python (the C ones, test_vision*.c and test_checkpoint.c, are picked up
# by tests/CMakeLists.txt): the torch reference against the upstream goldens, fresh goldens of
# other sizes/dtypes run through `dotsocr dump-vision`, the command's errors, and the random
# checkpoint writer. They need the .venv oracles (tools/setup_venv.sh).
if(EXISTS "${DOTS_PYTHON}")
  foreach(g vision-tiny-f32 vision-hd128-f32 vision-hd128-bf16)
    add_test(NAME vision_reference_${g}
      COMMAND ${DOTS_PYTHON} ${PROJECT_SOURCE_DIR}/tools/vision_reference.py
              --model ${DOTS_TEST_DATA}/golden/${g} --input ${DOTS_TEST_DATA}/golden/${g}/golden.safetensors
              --check ${DOTS_TEST_DATA}/golden/${g}/golden.safetensors)
    set_tests_properties(vision_reference_${g} PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 300)
  endforeach()
  foreach(t vision_fresh_goldens vision_cli vision_random_checkpoint)
    add_test(NAME ${t} COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/${t}.py)
    set_tests_properties(${t} PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 600)
  endforeach()
else()
  message(STATUS "vision Python tests skipped: ${DOTS_PYTHON} not found (run tools/setup_venv.sh)")
endif()
