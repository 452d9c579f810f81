# cuda_flags.cmake: included by every CUDA directory (kernels/cuda, runtime/cuda,
# tests/gpu, bench/gpu). The top level passes -Wall -Wextra to every language through
# add_compile_options, and nvcc rejects them; here each plain -W/-f option is kept for C
# and C++ and handed to nvcc's host compiler through -Xcompiler. Device code gets nvcc's
# own warnings as errors when ATTN_WERROR is on.
get_directory_property(_attn_opts COMPILE_OPTIONS)
set(_attn_fixed "")
foreach(_o IN LISTS _attn_opts)
  if(_o MATCHES "^-[Wf]")
    list(APPEND _attn_fixed "$<$<COMPILE_LANGUAGE:C,CXX>:${_o}>")
    # nvcc splits -Xcompiler values at commas: -fsanitize=a,b goes as -fsanitize=a -fsanitize=b
    if(_o MATCHES "^(-f[a-z-]+=)(.*,.*)$")
      string(REPLACE "," ";" _vals "${CMAKE_MATCH_2}")
      foreach(_v IN LISTS _vals)
        list(APPEND _attn_fixed "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${CMAKE_MATCH_1}${_v}>")
      endforeach()
    else()
      list(APPEND _attn_fixed "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${_o}>")
    endif()
  else()
    list(APPEND _attn_fixed "${_o}")
  endif()
endforeach()
set_directory_properties(PROPERTIES COMPILE_OPTIONS "${_attn_fixed}")
# (Link options stay as they are: CMake links CUDA executables with the host compiler.)
if(ATTN_WERROR)
  add_compile_options("$<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>"
                      "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Werror>")
endif()
