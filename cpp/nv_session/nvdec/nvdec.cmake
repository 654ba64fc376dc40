# NVDEC adapter sources and its kernels' PTX (NV12 -> RGB24, NV12 resize), added to the target named by
# VIDEOHW_NVDEC_TARGET (default videohw_core), which must exist when this is included and
# must already have VIDEOHW_CUDA_SOURCES (cpp/sources.cmake), the CUDA stack NVDEC runs on.

if(CMAKE_CUDA_COMPILER)
  set(_videohw_nvcc "${CMAKE_CUDA_COMPILER}")
else()
  find_program(_videohw_nvcc nvcc HINTS "$ENV{CUDA_HOME}/bin" "$ENV{CUDA_PATH}/bin"
               /usr/local/cuda/bin)
endif()
if(_videohw_nvcc)
  set(_videohw_ptx_default ON)
else()
  set(_videohw_ptx_default OFF)
endif()
option(VIDEOHW_NVDEC_PTX "Build the NVDEC NV12->RGB kernel to PTX (needs nvcc)" ${_videohw_ptx_default})
# compute_75 is the oldest virtual architecture CUDA 13's nvcc accepts; the driver JIT-compiles
# the PTX for the GPU it runs on (Turing and newer).
set(VIDEOHW_NVDEC_PTX_ARCH "compute_75" CACHE STRING "Virtual architecture of the NVDEC kernel PTX")

set(VIDEOHW_NVDEC_PTX_ISA "7.0" CACHE STRING
    "PTX ISA version written into the embedded PTX (empty: keep nvcc's)")

# The cpp/ folder; tests/gpu/CMakeLists.txt (a standalone build without FFmpeg) sets it.
if(NOT VIDEOHW_CPP_DIR)
  set(VIDEOHW_CPP_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
endif()
set(_nvdec_dir "${VIDEOHW_CPP_DIR}/nv_session/nvdec")
# One kernel file (kernels/NAME.cu) to PTX, embedded as NAME_ptx() in a generated source
# whose path is returned in OUT_VAR; without nvcc NAME_ptx() returns nullptr and
# NAME_ptx_missing_reason() says why.
function(videohw_embed_kernel NAME WHAT OUT_VAR)
  set(_generated "${CMAKE_CURRENT_BINARY_DIR}/${NAME}_ptx_embedded.cpp")
  if(VIDEOHW_NVDEC_PTX AND _videohw_nvcc)
    set(_ptx "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.ptx")
    add_custom_command(
      OUTPUT "${_ptx}"
      COMMAND "${_videohw_nvcc}" -ptx -arch=${VIDEOHW_NVDEC_PTX_ARCH} -O3
              "${_nvdec_dir}/kernels/${NAME}.cu" -o "${_ptx}"
      DEPENDS "${_nvdec_dir}/kernels/${NAME}.cu"
      COMMENT "nvcc: ${WHAT} kernel to PTX (${VIDEOHW_NVDEC_PTX_ARCH})"
      VERBATIM)
    add_custom_command(
      OUTPUT "${_generated}"
      COMMAND "${CMAKE_COMMAND}" -DINPUT=${_ptx} -DOUTPUT=${_generated} -DNAME=${NAME} -DREASON=
              -DPTX_ISA=${VIDEOHW_NVDEC_PTX_ISA}
              -P "${_nvdec_dir}/kernels/embed_ptx.cmake"
      DEPENDS "${_ptx}" "${_nvdec_dir}/kernels/embed_ptx.cmake"
      VERBATIM)
    message(STATUS "videohw: NVDEC ${WHAT} kernel built to PTX with ${_videohw_nvcc}")
  else()
    if(NOT _videohw_nvcc)
      set(_reason "this build of videohw found no nvcc, so the ${WHAT} kernel was not built")
    else()
      set(_reason "this build of videohw was configured with VIDEOHW_NVDEC_PTX=OFF, so the ${WHAT} kernel was not built")
    endif()
    add_custom_command(
      OUTPUT "${_generated}"
      COMMAND "${CMAKE_COMMAND}" -DINPUT= -DOUTPUT=${_generated} -DNAME=${NAME} "-DREASON=${_reason}"
              -P "${_nvdec_dir}/kernels/embed_ptx.cmake"
      DEPENDS "${_nvdec_dir}/kernels/embed_ptx.cmake"
      VERBATIM)
    message(STATUS "videohw: NVDEC ${WHAT} kernel disabled: ${_reason}")
  endif()
  set(${OUT_VAR} "${_generated}" PARENT_SCOPE)
endfunction()

videohw_embed_kernel(nv12_to_rgb "NV12->RGB" _nvdec_rgb_generated)
videohw_embed_kernel(nv12_resize "NV12 resize" _nvdec_resize_generated)

if(NOT VIDEOHW_NVDEC_TARGET)
  set(VIDEOHW_NVDEC_TARGET videohw_core)
endif()
target_sources(${VIDEOHW_NVDEC_TARGET} PRIVATE
  "${_nvdec_rgb_generated}"
  "${_nvdec_resize_generated}"
  "${_nvdec_dir}/cuvid_api.cpp"
  "${_nvdec_dir}/nvdec_device.cpp"
  "${_nvdec_dir}/nvdec_buffer_cache.cpp"
  "${_nvdec_dir}/nvdec_surface_pool.cpp"
  "${_nvdec_dir}/nvdec_decoder_cache.cpp"
  "${_nvdec_dir}/nvdec_frames_in_flight.cpp"
  "${_nvdec_dir}/nvdec_rgb_converter.cpp"
  "${_nvdec_dir}/nvdec_resizer.cpp"
  "${_nvdec_dir}/nvdec_access_units.cpp"
  "${_nvdec_dir}/nvdec_decoder.cpp"
  "${_nvdec_dir}/nvdec_provider.cpp"
)
