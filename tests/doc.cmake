# dotsocr parse, end to end, with the tiny random checkpoint (tests/data/tiny-dots).
# The checker uses only Python's standard library: the oracle venv if present, else python3.
if(EXISTS "${DOTS_PYTHON}")
  set(DOTS_DOC_PY "${DOTS_PYTHON}")
else()
  find_program(DOTS_DOC_PY NAMES python3)
endif()
if(DOTS_DOC_PY AND EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/data/tiny-dots/config.json" AND DOTS_WITH_PDF)
  add_test(NAME doc_parse_e2e
    COMMAND ${DOTS_DOC_PY} ${CMAKE_CURRENT_SOURCE_DIR}/py/doc_parse_e2e.py $<TARGET_FILE:dotsocr>
            ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/doc_parse_e2e)
  set_tests_properties(doc_parse_e2e PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 900)
  # output names, atomic files, the JSONL store and --resume (issue 14 item 4)
  add_test(NAME doc_parse_outputs
    COMMAND ${DOTS_DOC_PY} ${CMAKE_CURRENT_SOURCE_DIR}/py/doc_parse_outputs.py $<TARGET_FILE:dotsocr>
            ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/doc_parse_outputs)
  set_tests_properties(doc_parse_outputs PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 600)
  # --batch 4 == --batch 1 (page files, records), a failed page among them, the loop flags (issue 13 item 3)
  add_test(NAME doc_parse_batch
    COMMAND ${DOTS_DOC_PY} ${CMAKE_CURRENT_SOURCE_DIR}/py/doc_parse_batch.py $<TARGET_FILE:dotsocr>
            ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/doc_parse_batch)
  set_tests_properties(doc_parse_batch PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 600)
  # Ctrl-C: exit 130, the pages finished so far saved whole, nothing partial, --resume completes
  if(EXISTS "${DOTS_SHARED_DIR}/reference/samples/demo_pdf1.pdf")
    add_test(NAME doc_parse_interrupt
      COMMAND ${DOTS_DOC_PY} ${CMAKE_CURRENT_SOURCE_DIR}/py/doc_parse_interrupt.py $<TARGET_FILE:dotsocr>
              ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/doc_parse_interrupt ${DOTS_SHARED_DIR})
    set_tests_properties(doc_parse_interrupt PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 600)
    # the progress line on a terminal (a pseudo-terminal): its format, order, rates, ETA, end lines
    add_test(NAME doc_parse_tty
      COMMAND ${DOTS_DOC_PY} ${CMAKE_CURRENT_SOURCE_DIR}/py/doc_parse_tty.py $<TARGET_FILE:dotsocr>
              ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/doc_parse_tty ${DOTS_SHARED_DIR})
    set_tests_properties(doc_parse_tty PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 600)
  endif()
endif()
# The system turn of dots.mocr's general mode against the reference chat template (jinja2) + tokenizers.
if(EXISTS "${DOTS_PYTHON}")
  add_test(NAME doc_system_prompt
    COMMAND ${DOTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/py/test_system_prompt.py $<TARGET_FILE:dotsocr>
            ${PROJECT_BINARY_DIR}/tokenizer-data/tokenizer.json ${DOTS_SHARED_DIR}/reference/dots.ocr/chat_template.json)
  set_tests_properties(doc_system_prompt PROPERTIES ENVIRONMENT "${DOTS_TEST_ENV}" TIMEOUT 120)
endif()
