#include "software/decoded_output.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}

#include "contract/errors.hpp"

namespace videohw::software {

namespace {

// What the frame itself says. AVFrame::decode_error_flags is read only where libavcodec has
// no reordered_opaque (61 on): its frame threads copy those flags from a picture another
// thread may not have finished, so the software decoder takes the errors and concealment
// its threads log for each packet instead (media/ffmpeg_log_owner.hpp), which single-thread
// runs show to be the same pictures.
bool is_damaged(const AVFrame& frame) {
  const bool corrupt = (frame.flags & AV_FRAME_FLAG_CORRUPT) != 0;
#if LIBAVCODEC_VERSION_MAJOR < 61
  return corrupt;
#else
  return corrupt || frame.decode_error_flags != 0;
#endif
}

// Free RGB buffers kept for reuse: a reader's frames in flight plus a few the caller holds.
constexpr size_t kRgbBuffersKept = 8;

// A pooled RGB buffer as a frame's owner: back to its pool (if the pool still exists) when
// the frame's last reference goes.
struct PooledRgb {
  ring::AlignedBuffer buffer;
  std::weak_ptr<ring::FramePool> pool;
  ~PooledRgb() {
    if (auto p = pool.lock()) p->give(std::move(buffer), kRgbBuffersKept);
  }
};

}  // namespace

DecodedFrame frame_metadata(const AVFrame& frame) {
  DecodedFrame out;
  out.width = frame.width;
  out.height = frame.height;
  out.is_keyframe = frame.key_frame != 0;
  out.damaged = is_damaged(frame);
  // AVColor* values are the H.273 code points themselves.
  out.color.primaries = int(frame.color_primaries);
  out.color.transfer = int(frame.color_trc);
  out.color.matrix = int(frame.colorspace);
  const auto format = AVPixelFormat(frame.format);
  out.color.full_range = frame.color_range == AVCOL_RANGE_JPEG || format == AV_PIX_FMT_YUVJ420P ||
                         format == AV_PIX_FMT_YUVJ422P || format == AV_PIX_FMT_YUVJ444P;
  return out;
}

void attach_native_planes(const AVFrame& frame, DecodedFrame& out) {
  const auto format = AVPixelFormat(frame.format);
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format);
  if (!desc || (desc->flags & AV_PIX_FMT_FLAG_HWACCEL))
    throw Error(ErrorKind::Decode, std::string("native surface: the decoder produced pixel "
                                               "format ") +
                                       (desc ? desc->name : "unknown") +
                                       "; expected a planar host format");
  AVFrame* ref = av_frame_clone(&frame);
  if (!ref) throw Error(ErrorKind::Decode, "native surface: out of memory referencing a frame");
  out.owner = std::shared_ptr<void>(ref, [](void* p) {
    auto* f = static_cast<AVFrame*>(p);
    av_frame_free(&f);
  });
  out.pixel_format = desc->name;
  out.bytes_per_sample = desc->comp[0].depth > 8 ? 2 : 1;
  const int planes = av_pix_fmt_count_planes(format);
  for (int i = 0; i < planes; ++i) {
    const bool chroma = (i == 1 || i == 2) && !(desc->flags & AV_PIX_FMT_FLAG_RGB);
    SurfacePlane plane;
    plane.data = ref->data[i];
    plane.pitch = ref->linesize[i];
    plane.width_bytes = av_image_get_linesize(format, ref->width, i);
    plane.height = chroma ? AV_CEIL_RSHIFT(ref->height, desc->log2_chroma_h) : ref->height;
    out.planes.push_back(plane);
  }
}

RgbConverter::RgbConverter() : pool_(std::make_shared<ring::FramePool>()) {}

void RgbConverter::convert(const AVFrame& frame, DecodedFrame& out) {
  const auto format = AVPixelFormat(frame.format);
  // Bicubic is what the ffmpeg tool's auto-inserted scaler uses; with equal sizes it only
  // matters for chroma upsampling, and matching it keeps ffmpeg a bit-exact reference.
  SwsContext* previous = context_.release();
  SwsContext* cached =
      sws_getCachedContext(previous, frame.width, frame.height, format, frame.width, frame.height,
                           AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr);
  context_.reset(cached);
  const bool same_details = cached == previous && frame.colorspace == details_colorspace_ &&
                            frame.color_range == details_range_;
  if (!context_)
    throw Error(ErrorKind::Decode, "rgb output: libswscale cannot convert " +
                                       std::string(av_get_pix_fmt_name(format)) + " " +
                                       std::to_string(frame.width) + "x" +
                                       std::to_string(frame.height) + " to rgb24");
  // Setting the details rebuilds libswscale's conversion tables: only when they change.
  if (!same_details) {
    int *inv_table, *table, src_full, dst_full, brightness, contrast, saturation;
    sws_getColorspaceDetails(context_.get(), &inv_table, &src_full, &table, &dst_full, &brightness,
                             &contrast, &saturation);
    const bool full = frame.color_range == AVCOL_RANGE_JPEG;
    // sws_getCoefficients maps unspecified / unknown matrices to BT.601, as ffmpeg does.
    sws_setColorspaceDetails(context_.get(), sws_getCoefficients(frame.colorspace),
                             full ? 1 : src_full, table, dst_full, brightness, contrast,
                             saturation);
    details_colorspace_ = frame.colorspace;
    details_range_ = frame.color_range;
  }

  // Rows padded so libswscale's SIMD converter covers every pixel of a row: with a pitch of
  // exactly width * 3 it stops at a multiple of 8 pixels and finishes the row another way,
  // so the result would depend on the width (and no longer match a frame from the ffmpeg
  // tool, whose rows are padded, nor software/rgb_table.hpp).
  const int pitch = FFALIGN(FFALIGN(frame.width, 8) * 3, 64);
  // AlignedBuffer's slack covers sws_scale's last partial SIMD block of the last row.
  auto buffer = std::make_shared<PooledRgb>();
  buffer->buffer = pool_->take(size_t(pitch) * frame.height);
  buffer->pool = pool_;
  uint8_t* data = buffer->buffer.data();
  uint8_t* dst[4] = {data, nullptr, nullptr, nullptr};
  int dst_pitch[4] = {pitch, 0, 0, 0};
  const int rows =
      sws_scale(context_.get(), frame.data, frame.linesize, 0, frame.height, dst, dst_pitch);
  if (rows != frame.height)
    throw Error(ErrorKind::Decode, "rgb output: libswscale wrote " + std::to_string(rows) + " of " +
                                       std::to_string(frame.height) + " rows");
  out.pixel_format = "rgb24";
  out.bytes_per_sample = 1;
  out.planes.push_back(SurfacePlane{data, pitch, frame.width * 3, frame.height});
  out.owner = std::move(buffer);
}

}  // namespace videohw::software
