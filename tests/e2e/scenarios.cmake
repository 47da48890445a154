# End-to-end scenarios (tests/e2e/README.md), included by tests/CMakeLists.txt
# when SLUICE_E2E is ON.
#
# One boot of the nested test host runs every scenario against
# ${CMAKE_BINARY_DIR}/sluice: that is the fixture test e2e/testbed (it
# passes once every scenario has a verdict, skips when the test bed cannot
# run here). Each scenario is then its own ctest test, e2e/NAME, which prints
# its verdict - and the guest console when it failed - from the results
# directory. `ctest -L e2e --output-on-failure` shows everything. The VFIO
# scenarios (SCENARIO_TESTBED=vfio) add a second test-host boot (run.sh's
# --timeout applies to each boot). The limits are chosen so that even a
# hung test host leaves CI (90 minutes for the whole suite) a verdict:
# 30 minutes per boot, 65 for the fixture; a normal run needs about a
# third of that, and a boot keeps room for one guest hang (420 s) and its
# retry.
set(SLUICE_E2E_DIR ${CMAKE_CURRENT_LIST_DIR})
set(SLUICE_E2E_RESULTS ${CMAKE_BINARY_DIR}/e2e-results)
file(GLOB SLUICE_E2E_SCENARIOS CONFIGURE_DEPENDS ${SLUICE_E2E_DIR}/scenarios/*.sh)

add_test(NAME e2e/testbed
         COMMAND ${SLUICE_E2E_DIR}/run.sh --collect --timeout 1800
                 --sluice ${CMAKE_BINARY_DIR}/sluice --results ${SLUICE_E2E_RESULTS})
set_tests_properties(e2e/testbed PROPERTIES
  LABELS e2e TIMEOUT 3900 SKIP_RETURN_CODE 77 FIXTURES_SETUP sluice_e2e)

foreach(script ${SLUICE_E2E_SCENARIOS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME e2e/${name}
           COMMAND ${SLUICE_E2E_DIR}/verdict.sh ${SLUICE_E2E_RESULTS} ${name}@sluice)
  set_tests_properties(e2e/${name} PROPERTIES
    LABELS e2e TIMEOUT 60 SKIP_RETURN_CODE 77 FIXTURES_REQUIRED sluice_e2e)
endforeach()
