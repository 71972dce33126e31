# Language model + engine end to end against transformers' Qwen2ForCausalLM (spliced
# inputs_embeds, vision tokens from tools/vision_reference.py) on tests/data/tiny-dots;
# needs the .venv oracles (tools/setup_venv.sh). The C tests test_lm / test_lm_sampler /
# test_engine are picked up by tests/CMakeLists.txt itself.
if(EXISTS "${DOTS_PYTHON}")
  add_test(NAME test_lm_engine COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_lm_engine.py)
  set_tests_properties(test_lm_engine PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 300)
  # head_dim 64 / 128, ~550-token prompts: the production prefill and split-key decode kernels
  add_test(NAME test_lm_wide COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_lm_wide.py)
  set_tests_properties(test_lm_wide PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 600)
else()
  message(STATUS "test_lm_engine skipped: ${DOTS_PYTHON} missing (tools/setup_venv.sh)")
endif()
