# knbench_discover_tests(TARGET [LABELS l...] [TIMEOUT s] [RUN_SERIAL]
#                        [RESOURCE_LOCK lock] [WORKING_DIRECTORY dir]
#                        [TEST_PREFIX prefix])
#
# gtest_discover_tests with properties that survive. gtest_discover_tests
# re-splits its PROPERTIES argument, escaped or not (CMake 3.25), so
# LABELS "a;b" arrives as LABELS a, then "b" is taken for a property name and
# every property after it is lost (TIMEOUT, RUN_SERIAL ...). Instead, the
# properties are set by a ctest script of our own, run after the discovered
# tests are added, on the list of tests discovery leaves in <TARGET>_TESTS.
# cmake/check_ctest_properties.py checks the result.
function(knbench_discover_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "RUN_SERIAL"
                        "TIMEOUT;RESOURCE_LOCK;WORKING_DIRECTORY;TEST_PREFIX" "LABELS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
            "knbench_discover_tests: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  set(extra)
  if(arg_WORKING_DIRECTORY)
    list(APPEND extra WORKING_DIRECTORY ${arg_WORKING_DIRECTORY})
  endif()
  if(arg_TEST_PREFIX)
    # Names the tests after their component, so `ctest -R <component>`
    # selects them.
    list(APPEND extra TEST_PREFIX ${arg_TEST_PREFIX})
  endif()
  # Discovery runs the binary; under ASan on a loaded machine the default
  # 5 s is not always enough.
  gtest_discover_tests(${target} ${extra} DISCOVERY_TIMEOUT 60
                       TEST_LIST ${target}_TESTS)
  set(properties "")
  if(arg_LABELS)
    string(APPEND properties " LABELS [==[${arg_LABELS}]==]")
  endif()
  if(arg_TIMEOUT)
    string(APPEND properties " TIMEOUT ${arg_TIMEOUT}")
  endif()
  if(arg_RUN_SERIAL)
    string(APPEND properties " RUN_SERIAL TRUE")
  endif()
  if(arg_RESOURCE_LOCK)
    string(APPEND properties " RESOURCE_LOCK ${arg_RESOURCE_LOCK}")
  endif()
  if(properties STREQUAL "")
    return()
  endif()
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake")
  file(WRITE "${script}"
       "if(${target}_TESTS)\n"
       "  set_tests_properties(\${${target}_TESTS} PROPERTIES${properties})\n"
       "endif()\n")
  # Included by ctest after the discovery script gtest_discover_tests added.
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()
