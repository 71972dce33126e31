# The x86 kernel levels on CPUs this machine is not: the kernel tests and a
# smoke run of each bench under qemu user emulation as an AVX2-only CPU
# (Haswell: no AVX-512, so a stray AVX-512 instruction is SIGILL) and as a
# pre-AVX one (Nehalem: the scalar level). DOTS_TEST_SMALL drops the largest
# shapes and DOTS_BENCH_SMOKE shrinks the benches' peak loops: emulation is
# ~100x slower. x86 hosts with qemu-x86_64-static only.
find_program(DOTS_QEMU_X86 qemu-x86_64-static)
if(DOTS_X86 AND DOTS_QEMU_X86)
  set(_tiny "${CMAKE_CURRENT_SOURCE_DIR}/data/tiny-dots")
  foreach(cpu Haswell Nehalem)
    foreach(t test_kernels_linear test_kernels_attention test_kernels_vec)
      add_test(NAME qemu_${cpu}_${t} COMMAND ${DOTS_QEMU_X86} -cpu ${cpu} $<TARGET_FILE:${t}>)
      set_tests_properties(qemu_${cpu}_${t} PROPERTIES ENVIRONMENT "DOTS_TEST_SMALL=1" TIMEOUT 300 LABELS qemu)
    endforeach()
    # a bench passes if it exits 0 and reports the ISA that CPU model has
    if(cpu STREQUAL "Haswell")
      set(_isa "[Ii][Ss][Aa] avx2")
    else()
      set(_isa "[Ii][Ss][Aa] scalar")
    endif()
    set(_check "out=$(\"$@\" 2>&1); rc=$?; printf '%s\\n' \"$out\"; [ $rc -eq 0 ] && printf '%s\\n' \"$out\" | grep -Eq '${_isa}'")
    set(_q ${DOTS_QEMU_X86} -cpu ${cpu})
    add_test(NAME qemu_${cpu}_bench_kernels COMMAND sh -c "${_check}" sh ${_q} $<TARGET_FILE:bench_kernels> 2 smoke)
    add_test(NAME qemu_${cpu}_bench_vision
      COMMAND sh -c "${_check}" sh ${_q} $<TARGET_FILE:bench_vision> --model ${_tiny} --patches 64 --threads 2)
    add_test(NAME qemu_${cpu}_bench_lm
      COMMAND sh -c "${_check}" sh ${_q} $<TARGET_FILE:bench_lm> --model ${_tiny} --prefill 16 --decode 4 --threads 2)
    foreach(b bench_kernels bench_vision bench_lm)
      set_tests_properties(qemu_${cpu}_${b} PROPERTIES ENVIRONMENT "DOTS_BENCH_SMOKE=1" TIMEOUT 300 LABELS qemu)
    endforeach()
  endforeach()
elseif(DOTS_X86)
  message(STATUS "qemu x86 tests skipped: qemu-x86_64-static missing (tools/install_deps.sh)")
endif()
