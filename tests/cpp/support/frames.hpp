// Test frames in caller memory of *exactly* the size the layout needs, the way a user
// hands them over. The buffer ends (or starts) right at a PROT_NONE page, so a read past
// the caller's memory faults even inside uninstrumented code (libswscale, x264/x265 SIMD)
// that AddressSanitizer cannot see.
#pragma once

#include <cstddef>
#include <cstdint>

#include "contract/types.hpp"

namespace vhtest {

enum class Guard { AfterEnd, BeforeStart };

// `slack`: readable bytes between the buffer's end and the fault page (AfterEnd only), for
// tests about something else than over-reads.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t size, Guard guard = Guard::AfterEnd, size_t slack = 0);
  ~GuardedBuffer();
  GuardedBuffer(GuardedBuffer&& other) noexcept;
  GuardedBuffer& operator=(GuardedBuffer&&) = delete;
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* map_ = nullptr;
  size_t map_size_ = 0;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct TestFrame {
  videohw::PixelFormat format;
  int width, height, pitch;
  GuardedBuffer buffer;

  const uint8_t* data() const { return buffer.data(); }
  size_t size() const { return buffer.size(); }
};

// Where a frame's bytes sit: exactly at a fault page (slack 0), or with readable slack.
struct Placement {
  Guard guard = Guard::AfterEnd;
  size_t slack = 0;
};
// Slack for frames whose tests are not about over-reads (libswscale over-reads some
// formats by a few bytes; see test_software_encoder's CallerMemory tests).
constexpr Placement kRoomy{Guard::AfterEnd, 64};

// Every byte of the buffer set to `padding` first, then the pixels written, so padding
// bytes that leak into the picture show up as a colour error. pitch 0 = the minimum.
TestFrame flat_rgb_frame(videohw::PixelFormat format, int width, int height, int pitch, uint8_t r,
                         uint8_t g, uint8_t b, uint8_t padding = 0xff, Placement placement = {});
TestFrame flat_yuv_frame(videohw::PixelFormat format, int width, int height, int pitch, uint8_t y,
                         uint8_t u, uint8_t v, uint8_t padding = 0xff, Placement placement = {});
// Something that moves from frame to frame (pitch 0 = the minimum).
TestFrame pattern_frame(videohw::PixelFormat format, int width, int height, int index,
                        int pitch = 0, Placement placement = kRoomy);

// Studio-range BT.601 Y'CbCr of an RGB colour (what libswscale produces by default).
double bt601_y(int r, int g, int b);
double bt601_cb(int r, int g, int b);
double bt601_cr(int r, int g, int b);

// A small valid config for the software backend.
videohw::CommonEncodeConfig small_config(videohw::Codec codec = videohw::Codec::H264,
                                         int width = 64, int height = 48);

}  // namespace vhtest
