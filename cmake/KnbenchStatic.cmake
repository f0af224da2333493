# KNBENCH_STATIC: link the libraries Debian ships as static archives (.a)
# into our executables instead of their shared objects. The container images
# use it: the binary then needs only libc, libstdc++ and prometheus-cpp (no
# .a in Debian) at run time, and carries only the parts of gRPC, protobuf,
# abseil, c-ares, re2, zlib and nghttp2 it uses (docs/deploy.md, "Images").
#
# The packages' CMake configs name shared objects; this swaps the location
# of each imported target of those packages for the archive beside it.
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

# Call after every find_package() of the namespaces above, in the same
# directory scope.
function(knbench_link_static_archives)
  list(JOIN _knbench_static_namespaces "|" _ns)
  get_directory_property(_targets IMPORTED_TARGETS)
  set(_swapped 0)
  foreach(_t IN LISTS _targets)
    if(NOT _t MATCHES "^(${_ns})::")
      continue()
    endif()
    get_target_property(_type ${_t} TYPE)
    if(_type STREQUAL "INTERFACE_LIBRARY")
      # re2 comes from pkg-config as "-L<dir>;-lre2" on an INTERFACE target.
      get_target_property(_libs ${_t} INTERFACE_LINK_LIBRARIES)
      if(NOT _libs)
        continue()
      endif()
      set(_new)
      foreach(_l IN LISTS _libs)
        # pkg_check_modules(IMPORTED_TARGET) names the shared object itself.
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
      set_target_properties(${_t} PROPERTIES INTERFACE_LINK_LIBRARIES "${_new}")
      continue()
    endif()
    if(NOT _type MATCHES "^(SHARED|UNKNOWN|STATIC)_LIBRARY$")
      continue()
    endif()
    get_target_property(_configs ${_t} IMPORTED_CONFIGURATIONS)
    set(_props IMPORTED_LOCATION)
    foreach(_c IN LISTS _configs)
      if(_c)
        list(APPEND _props IMPORTED_LOCATION_${_c})
      endif()
    endforeach()
    foreach(_p IN LISTS _props)
      get_target_property(_loc ${_t} ${_p})
      if(NOT _loc)
        continue()
      endif()
      _knbench_archive_for(_a "${_loc}")
      if(NOT _a)
        message(FATAL_ERROR "KNBENCH_STATIC: ${_t} has no static archive beside ${_loc}")
      endif()
      if(NOT _a STREQUAL _loc)
        set_target_properties(${_t} PROPERTIES ${_p} "${_a}")
        math(EXPR _swapped "${_swapped} + 1")
      endif()
    endforeach()
  endforeach()
  # The kit speaks plaintext gRPC only (h2c; Insecure*Credentials): gRPC's
  # _unsecure variants leave out TLS and xDS security, and OpenSSL with them,
  # which halves the binary. Using TLS would fail to link, not fail at run time.
  foreach(_lib grpc grpc++)
    get_target_property(_unsecure_libs gRPC::${_lib}_unsecure INTERFACE_LINK_LIBRARIES)
    get_target_property(_configs gRPC::${_lib}_unsecure IMPORTED_CONFIGURATIONS)
    foreach(_c IN LISTS _configs)
      get_target_property(_loc gRPC::${_lib}_unsecure IMPORTED_LOCATION_${_c})
      set_target_properties(gRPC::${_lib} PROPERTIES IMPORTED_LOCATION_${_c} "${_loc}")
    endforeach()
    set_target_properties(gRPC::${_lib} PROPERTIES INTERFACE_LINK_LIBRARIES "${_unsecure_libs}")
  endforeach()
  message(STATUS "KNBENCH_STATIC: ${_swapped} libraries linked from static archives "
                 "(${_knbench_static_namespaces}); gRPC without TLS; prometheus-cpp stays shared")
endfunction()
