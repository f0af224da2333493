# Static linking of the libraries Debian ships as static archives (.a):
# gRPC, protobuf, abseil, c-ares, re2, zlib and nghttp2. A binary linked so
# needs only libc, libstdc++ and prometheus-cpp (no .a in Debian) at run
# time, carries only the parts of those libraries it uses, and starts
# without loading and relocating some 60 shared objects (docs/bench.md:
# 4.4 ms from exec to the first answered call instead of 14 ms, 8.8 MiB
# idle instead of 16 MiB).
#
# Two ways, both from the packages' own CMake configs, which name shared
# objects:
# - KNBENCH_STATIC (the container images): every imported target of those
#   packages is switched to the archive beside its shared object, for every
#   executable (knbench_link_static_archives).
# - KNBENCH_STATIC_BINARIES (the default): the same switch for the targets
#   that set the property KNBENCH_STATIC_LINK (the worker and the load
#   driver) and for no other: each imported target gets a static twin, and
#   every link of ours to an imported target becomes a choice between the
#   two, made for the executable being linked (knbench_static_twins, then
#   knbench_route_static_links once every component is added). Test
#   binaries keep the shared objects, and are linked in a moment.
# A package of that list without an archive is an error, not a silent
# fallback to the shared object.

set(_knbench_static_namespaces absl gRPC protobuf c-ares re2 ZLIB PkgConfig)

# archive_for(OUT LOCATION): /x/libfoo.so[.1.2] -> /x/libfoo.a, or "" if none.
function(_knbench_archive_for out location)
  set(${out} "" PARENT_SCOPE)
  if(location MATCHES "^(.*/lib[^/]+)\\.so(\\.[0-9.]+)?$")
    if(EXISTS "${CMAKE_MATCH_1}.a")
      set(${out} "${CMAKE_MATCH_1}.a" PARENT_SCOPE)
    endif()
  elseif(location MATCHES "\\.a$")
    set(${out} "${location}" PARENT_SCOPE)
  endif()
endfunction()

# The imported libraries of the namespaces above, in this directory's scope
# (not executables such as protobuf::protoc).
function(_knbench_static_candidates out)
  list(JOIN _knbench_static_namespaces "|" _ns)
  get_directory_property(_targets IMPORTED_TARGETS)
  set(_found)
  foreach(_t IN LISTS _targets)
    get_target_property(_type ${_t} TYPE)
    if(_t MATCHES "^(${_ns})::" AND _type MATCHES "LIBRARY$")
      list(APPEND _found ${_t})
    endif()
  endforeach()
  set(${out} "${_found}" PARENT_SCOPE)
endfunction()

# Points imported target `t` at static archives: its location, or the
# libraries named in an INTERFACE target's link list (re2 from pkg-config is
# "-L<dir>;-lre2"; pkg_check_modules(IMPORTED_TARGET) names the .so itself).
# Adds the number of swaps to the variable named by `count`.
function(_knbench_swap_to_archives t count)
  set(_swapped ${${count}})
  get_target_property(_type ${t} TYPE)
  if(_type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(_libs ${t} INTERFACE_LINK_LIBRARIES)
    if(_libs)
      set(_new)
      foreach(_l IN LISTS _libs)
        _knbench_archive_for(_a "${_l}")
        if(_a AND NOT _a STREQUAL _l)
          set(_l "${_a}")
          math(EXPR _swapped "${_swapped} + 1")
        endif()
        # System libraries (-latomic, -ldl) have no archive here and stay.
        if(_l MATCHES "^-l(.+)$")
          find_library(_knbench_static_${CMAKE_MATCH_1} NAMES lib${CMAKE_MATCH_1}.a)
          if(_knbench_static_${CMAKE_MATCH_1})
            set(_l "${_knbench_static_${CMAKE_MATCH_1}}")
            math(EXPR _swapped "${_swapped} + 1")
          endif()
        endif()
        list(APPEND _new "${_l}")
      endforeach()
      set_target_properties(${t} PROPERTIES INTERFACE_LINK_LIBRARIES "${_new}")
    endif()
  elseif(_type MATCHES "^(SHARED|UNKNOWN|STATIC)_LIBRARY$")
    get_target_property(_configs ${t} IMPORTED_CONFIGURATIONS)
    set(_props IMPORTED_LOCATION)
    foreach(_c IN LISTS _configs)
      if(_c)
        list(APPEND _props IMPORTED_LOCATION_${_c})
      endif()
    endforeach()
    foreach(_p IN LISTS _props)
      get_target_property(_loc ${t} ${_p})
      if(NOT _loc)
        continue()
      endif()
      _knbench_archive_for(_a "${_loc}")
      if(NOT _a)
        message(FATAL_ERROR "static linking: ${t} has no static archive beside ${_loc}")
      endif()
      if(NOT _a STREQUAL _loc)
        set_target_properties(${t} PROPERTIES ${_p} "${_a}")
        math(EXPR _swapped "${_swapped} + 1")
      endif()
    endforeach()
  endif()
  set(${count} ${_swapped} PARENT_SCOPE)
endfunction()

# The kit speaks plaintext gRPC only (h2c; Insecure*Credentials): gRPC's
# _unsecure variants leave out TLS and xDS security, and OpenSSL with them,
# which halves the binary. Using TLS would fail to link, not fail at run
# time. `prefix` maps gRPC::x to the target to change (itself or its twin).
function(_knbench_use_unsecure_grpc prefix)
  foreach(_lib grpc grpc++)
    _knbench_twin_name(_to "gRPC::${_lib}" "${prefix}")
    _knbench_twin_name(_from "gRPC::${_lib}_unsecure" "${prefix}")
    get_target_property(_unsecure_libs ${_from} INTERFACE_LINK_LIBRARIES)
    get_target_property(_configs ${_from} IMPORTED_CONFIGURATIONS)
    foreach(_c IN LISTS _configs)
      get_target_property(_loc ${_from} IMPORTED_LOCATION_${_c})
      set_target_properties(${_to} PROPERTIES IMPORTED_LOCATION_${_c} "${_loc}")
    endforeach()
    set_target_properties(${_to} PROPERTIES INTERFACE_LINK_LIBRARIES "${_unsecure_libs}")
  endforeach()
endfunction()

# KNBENCH_STATIC: every executable. Call after every find_package() of the
# namespaces above, in the same directory scope.
function(knbench_link_static_archives)
  _knbench_static_candidates(_targets)
  set(_swapped 0)
  foreach(_t IN LISTS _targets)
    _knbench_swap_to_archives(${_t} _swapped)
  endforeach()
  _knbench_use_unsecure_grpc("")
  message(STATUS "KNBENCH_STATIC: ${_swapped} libraries linked from static archives "
                 "(${_knbench_static_namespaces}); gRPC without TLS; prometheus-cpp stays shared")
endfunction()

# twin_name(OUT TARGET PREFIX): gRPC::grpc++ -> <PREFIX>gRPC__grpc++, or the
# target itself when PREFIX is empty.
function(_knbench_twin_name out t prefix)
  if(prefix)
    string(REPLACE "::" "__" _n "${t}")
    set(${out} "${prefix}${_n}" PARENT_SCOPE)
  else()
    set(${out} "${t}" PARENT_SCOPE)
  endif()
endfunction()

set(_knbench_twin_prefix "knbench_static_")

# A link list with every imported target of ours replaced by its twin.
function(_knbench_map_to_twins out libs candidates)
  set(_new)
  foreach(_l IN LISTS libs)
    if(_l IN_LIST candidates)
      _knbench_twin_name(_l "${_l}" "${_knbench_twin_prefix}")
    elseif(_l MATCHES "^\\$<LINK_ONLY:(.+)>$" AND CMAKE_MATCH_1 IN_LIST candidates)
      _knbench_twin_name(_t "${CMAKE_MATCH_1}" "${_knbench_twin_prefix}")
      set(_l "$<LINK_ONLY:${_t}>")
    endif()
    list(APPEND _new "${_l}")
  endforeach()
  set(${out} "${_new}" PARENT_SCOPE)
endfunction()

# KNBENCH_STATIC_BINARIES, first step: a static twin of every imported
# target of the namespaces. Call after their find_package(), before the
# components are added.
function(knbench_static_twins)
  _knbench_static_candidates(_targets)
  set(_swapped 0)
  foreach(_t IN LISTS _targets)
    _knbench_twin_name(_twin "${_t}" "${_knbench_twin_prefix}")
    get_target_property(_type ${_t} TYPE)
    if(_type STREQUAL "INTERFACE_LIBRARY")
      add_library(${_twin} INTERFACE IMPORTED GLOBAL)
    else()
      add_library(${_twin} UNKNOWN IMPORTED GLOBAL)
      foreach(_p IMPORTED_CONFIGURATIONS IMPORTED_LOCATION IMPORTED_LOCATION_NONE
                 IMPORTED_LOCATION_NOCONFIG IMPORTED_LOCATION_RELEASE
                 IMPORTED_LOCATION_RELWITHDEBINFO IMPORTED_LOCATION_DEBUG)
        get_target_property(_v ${_t} ${_p})
        if(_v)
          set_target_properties(${_twin} PROPERTIES ${_p} "${_v}")
        endif()
      endforeach()
    endif()
    foreach(_p INTERFACE_INCLUDE_DIRECTORIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES
               INTERFACE_COMPILE_DEFINITIONS INTERFACE_COMPILE_OPTIONS
               INTERFACE_COMPILE_FEATURES INTERFACE_LINK_OPTIONS
               INTERFACE_LINK_DIRECTORIES)
      get_target_property(_v ${_t} ${_p})
      if(_v)
        set_target_properties(${_twin} PROPERTIES ${_p} "${_v}")
      endif()
    endforeach()
    get_target_property(_libs ${_t} INTERFACE_LINK_LIBRARIES)
    if(_libs)
      _knbench_map_to_twins(_mapped "${_libs}" "${_targets}")
      set_target_properties(${_twin} PROPERTIES INTERFACE_LINK_LIBRARIES "${_mapped}")
    endif()
    _knbench_swap_to_archives(${_twin} _swapped)
  endforeach()
  _knbench_use_unsecure_grpc("${_knbench_twin_prefix}")
  set_property(GLOBAL PROPERTY KNBENCH_STATIC_CANDIDATES "${_targets}")
  message(STATUS "KNBENCH_STATIC_BINARIES: static twins of ${_swapped} libraries "
                 "(${_knbench_static_namespaces}) for the worker and the load driver")
endfunction()

# Every target defined in `dir` and below.
function(_knbench_targets_under dir out)
  get_property(_here DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(_subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(_d IN LISTS _subdirs)
    _knbench_targets_under("${_d}" _more)
    list(APPEND _here ${_more})
  endforeach()
  set(${out} "${_here}" PARENT_SCOPE)
endfunction()

# KNBENCH_STATIC_BINARIES, second step, once every component is added: each
# link of ours to an imported target T becomes
#   $<IF:$<BOOL:$<TARGET_PROPERTY:KNBENCH_STATIC_LINK>>,twin-of-T,T>
# which CMake evaluates for the executable being linked, through every
# library between them.
function(knbench_route_static_links)
  get_property(_candidates GLOBAL PROPERTY KNBENCH_STATIC_CANDIDATES)
  _knbench_targets_under("${PROJECT_SOURCE_DIR}" _targets)
  foreach(_t IN LISTS _targets)
    foreach(_p LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
      get_target_property(_libs ${_t} ${_p})
      if(NOT _libs)
        continue()
      endif()
      set(_new)
      set(_changed FALSE)
      foreach(_l IN LISTS _libs)
        set(_only "")
        set(_name "${_l}")
        if(_l MATCHES "^\\$<LINK_ONLY:(.+)>$")
          set(_only TRUE)
          set(_name "${CMAKE_MATCH_1}")
        endif()
        if(_name IN_LIST _candidates)
          _knbench_twin_name(_twin "${_name}" "${_knbench_twin_prefix}")
          set(_l "$<IF:$<BOOL:$<TARGET_PROPERTY:KNBENCH_STATIC_LINK>>,${_twin},${_name}>")
          if(_only)
            set(_l "$<LINK_ONLY:${_l}>")
          endif()
          set(_changed TRUE)
        endif()
        list(APPEND _new "${_l}")
      endforeach()
      if(_changed)
        set_target_properties(${_t} PROPERTIES ${_p} "${_new}")
      endif()
    endforeach()
  endforeach()
endfunction()
