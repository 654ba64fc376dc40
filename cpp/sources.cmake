# The core's sources, one list per layer, lowest first (docs/architecture.md). The core
# library takes them all; the fuzz targets and the standalone GPU check take the layers they
# need. Paths are absolute, so any CMakeLists.txt can include this file.
set(_videohw_cpp "${CMAKE_CURRENT_LIST_DIR}")

set(VIDEOHW_CONTRACT_SOURCES
  contract/errors.cpp
  contract/frame_layout.cpp
  contract/names.cpp
  contract/validate.cpp
  contract/color_names.cpp
)
set(VIDEOHW_BITSTREAM_SOURCES
  bitstream/annexb.cpp
  bitstream/rbsp_reader.cpp
  bitstream/nal.cpp
  bitstream/access_unit_assembler.cpp
  bitstream/parameter_set_syntax.cpp
  bitstream/parameter_set_cache.cpp
  bitstream/length_prefixed.cpp
  bitstream/avcc.cpp
  bitstream/hvcc.cpp
  bitstream/sample_converter.cpp
  bitstream/picture_pieces.cpp
)
set(VIDEOHW_TRANSFORM_SOURCES
  transform/pixel_converter.cpp
  transform/frame_preparer.cpp
)
# FFmpeg's log, routed to Python and counted per codec context: every FFmpeg user needs it.
set(VIDEOHW_FFMPEG_LOG_SOURCES
  media/ffmpeg_log.cpp
  media/ffmpeg_log_queue.cpp
  media/ffmpeg_log_owner.cpp
)
set(VIDEOHW_MEDIA_SOURCES
  media/stream_description.cpp
  media/demuxer.cpp
  media/frame_table.cpp
  media/probe.cpp
  media/container_format.cpp
  media/pending_file.cpp
  media/stream_parameters.cpp
  media/segment_clock.cpp
  media/annexb_file.cpp
  media/container_file.cpp
  media/muxer_checks.cpp
  media/muxer.cpp
  media/segment_join.cpp
)
set(VIDEOHW_BACKEND_SOURCES
  backend/encoder_registry.cpp
  backend/decoder_registry.cpp
  backend/rgb_reference.cpp
  backend/device_memory.cpp
  backend/device_resizer.cpp
)
set(VIDEOHW_SOFTWARE_DECODE_SOURCES
  software/ffmpeg_ptr.cpp
  software/decoded_output.cpp
  software/rgb_table.cpp
  software/software_decoder.cpp
  software/software_decode_provider.cpp
)
set(VIDEOHW_SOFTWARE_ENCODE_SOURCES
  software/encoder_options.cpp
  software/frame_input.cpp
  software/software_encoder.cpp
  software/software_encode_provider.cpp
)
# The one CUDA stack NVENC and NVDEC share (driver table, primary context, streams).
set(VIDEOHW_CUDA_SOURCES
  nv_session/cuda/driver_library.cpp
  nv_session/cuda/driver.cpp
  nv_session/cuda/context.cpp
  nv_session/cuda/stream.cpp
  nv_session/cuda/device_memory.cpp
)
set(VIDEOHW_NVENC_SOURCES
  nv_session/nvenc/nvenc_probe.cpp
  nv_session/nvenc/nvenc_api.cpp
  nv_session/nvenc/nvenc_config.cpp
  nv_session/nvenc/nvenc_handle.cpp
  nv_session/nvenc/nvenc_caps.cpp
  nv_session/nvenc/nvenc_buffers.cpp
  nv_session/nvenc/nvenc_device_input.cpp
  nv_session/nvenc/nvenc_encoder.cpp
  nv_session/nvenc/nvenc_provider.cpp
)
# NVDEC's sources come with its kernel's build: nv_session/nvdec/nvdec.cmake.
set(VIDEOHW_SESSION_SOURCES
  session/encode_session.cpp
  session/session_manager.cpp
  session/device_frame_pool.cpp
  session/pipeline.cpp
  session/decode_input.cpp
  session/decode_session.cpp
)
set(VIDEOHW_PIPELINE_SOURCES
  pipeline/decoded_view.cpp
  pipeline/frame_reader.cpp
  pipeline/transcode_graph.cpp
  pipeline/transcode_sessions.cpp
  pipeline/transcode_sink.cpp
  pipeline/transcode_source.cpp
  pipeline/transcode_timeline.cpp
)

foreach(_layer CONTRACT BITSTREAM TRANSFORM FFMPEG_LOG MEDIA BACKEND SOFTWARE_DECODE
               SOFTWARE_ENCODE CUDA NVENC SESSION PIPELINE)
  list(TRANSFORM VIDEOHW_${_layer}_SOURCES PREPEND "${_videohw_cpp}/")
endforeach()
