# Shared CMake helpers. Each test file tests/<area>/test_<name>.c becomes one cmocka executable
# and one CTest test, so adding a test never means editing a list kept elsewhere.
find_library(CMOCKA_LIBRARY cmocka)

function(rspkit_unit_tests area)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  file(GLOB test_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/test_*.c")
  foreach(src ${test_sources})
    get_filename_component(name "${src}" NAME_WE)
    set(target "${area}_${name}")
    add_executable(${target} "${src}")
    target_link_libraries(${target} PRIVATE ${ARG_LIBS} ${CMOCKA_LIBRARY})
    target_compile_definitions(${target} PRIVATE RSPKIT_SHARED_DIR="${RSPKIT_SHARED_DIR}"
                               RSPKIT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    add_test(NAME ${target} COMMAND ${target})
    set_tests_properties(${target} PROPERTIES LABELS "${area}" TIMEOUT 300
                         ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=STDOUT")
  endforeach()
endfunction()
