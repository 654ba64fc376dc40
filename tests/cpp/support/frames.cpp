#include "support/frames.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include "contract/frame_layout.hpp"

namespace vhtest {

using videohw::PixelFormat;

GuardedBuffer::GuardedBuffer(size_t size, Guard guard, size_t slack) : size_(size) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  if (guard == Guard::BeforeStart) slack = 0;
  const size_t data_pages = (size + slack + page - 1) / page;
  map_size_ = (data_pages + 1) * page;
  map_ = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map_ == MAP_FAILED) throw std::bad_alloc();
  auto* base = static_cast<uint8_t*>(map_);
  if (guard == Guard::AfterEnd) {
    uint8_t* guard_page = base + data_pages * page;
    mprotect(guard_page, page, PROT_NONE);
    data_ = guard_page - slack - size;
  } else {
    mprotect(base, page, PROT_NONE);
    data_ = base + page;
  }
}

GuardedBuffer::~GuardedBuffer() {
  if (map_) munmap(map_, map_size_);
}

GuardedBuffer::GuardedBuffer(GuardedBuffer&& other) noexcept
    : map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

namespace {

int effective_pitch(PixelFormat format, int width, int pitch) {
  return pitch ? pitch : videohw::minimum_pitch(format, width);
}

TestFrame blank(PixelFormat format, int width, int height, int pitch, uint8_t padding,
                Placement placement) {
  pitch = effective_pitch(format, width, pitch);
  TestFrame f{
      format, width, height, pitch,
      GuardedBuffer(videohw::frame_bytes(format, height, pitch), placement.guard, placement.slack)};
  std::memset(f.buffer.data(), padding, f.buffer.size());
  return f;
}

void put_rgb(uint8_t* px, PixelFormat format, uint8_t r, uint8_t g, uint8_t b) {
  switch (format) {
    case PixelFormat::ARGB8888:
      px[0] = 0xff;
      px[1] = r;
      px[2] = g;
      px[3] = b;
      break;
    case PixelFormat::BGRA:
      px[0] = b;
      px[1] = g;
      px[2] = r;
      px[3] = 0xff;
      break;
    case PixelFormat::RGB24:
      px[0] = r;
      px[1] = g;
      px[2] = b;
      break;
    default:
      throw std::logic_error("put_rgb: not a packed RGB format");
  }
}

int bytes_per_pixel(PixelFormat format) {
  return format == PixelFormat::RGB24 ? 3 : 4;
}

bool is_yuv(PixelFormat format) {
  return format == PixelFormat::NV12 || format == PixelFormat::I420;
}

// Writes Y over the luma plane and a function of (x, y) over the chroma planes.
template <typename LumaFn, typename ChromaFn>
void fill_yuv(TestFrame& f, LumaFn luma, ChromaFn chroma) {
  uint8_t* base = f.buffer.data();
  for (int y = 0; y < f.height; ++y)
    for (int x = 0; x < f.width; ++x) base[size_t(y) * f.pitch + x] = luma(x, y);
  uint8_t* chroma_base = base + size_t(f.height) * f.pitch;
  const int cw = f.width / 2, ch = f.height / 2;
  if (f.format == PixelFormat::NV12) {
    for (int y = 0; y < ch; ++y)
      for (int x = 0; x < cw; ++x) {
        chroma_base[size_t(y) * f.pitch + 2 * x] = chroma(0, x, y);
        chroma_base[size_t(y) * f.pitch + 2 * x + 1] = chroma(1, x, y);
      }
  } else {
    const int cp = f.pitch / 2;
    uint8_t* v_base = chroma_base + size_t(ch) * cp;
    for (int y = 0; y < ch; ++y)
      for (int x = 0; x < cw; ++x) {
        chroma_base[size_t(y) * cp + x] = chroma(0, x, y);
        v_base[size_t(y) * cp + x] = chroma(1, x, y);
      }
  }
}

}  // namespace

TestFrame flat_rgb_frame(PixelFormat format, int width, int height, int pitch, uint8_t r, uint8_t g,
                         uint8_t b, uint8_t padding, Placement placement) {
  TestFrame f = blank(format, width, height, pitch, padding, placement);
  const int bpp = bytes_per_pixel(format);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      put_rgb(f.buffer.data() + size_t(y) * f.pitch + size_t(x) * bpp, format, r, g, b);
  return f;
}

TestFrame flat_yuv_frame(PixelFormat format, int width, int height, int pitch, uint8_t y, uint8_t u,
                         uint8_t v, uint8_t padding, Placement placement) {
  if (!is_yuv(format)) throw std::logic_error("flat_yuv_frame: not a 4:2:0 format");
  TestFrame f = blank(format, width, height, pitch, padding, placement);
  fill_yuv(
      f, [&](int, int) { return y; }, [&](int plane, int, int) { return plane ? v : u; });
  return f;
}

TestFrame pattern_frame(PixelFormat format, int width, int height, int index, int pitch,
                        Placement placement) {
  TestFrame f = blank(format, width, height, pitch, 0x80, placement);
  if (is_yuv(format)) {
    fill_yuv(
        f, [&](int x, int y) { return uint8_t((x * 3 + y * 2 + index * 5) & 0xff); },
        [&](int plane, int x, int y) {
          return uint8_t(plane ? 128 + ((x + index) & 31) : 128 - ((y + index) & 31));
        });
  } else {
    const int bpp = bytes_per_pixel(format);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        put_rgb(f.buffer.data() + size_t(y) * f.pitch + size_t(x) * bpp, format,
                uint8_t((x * 4 + index * 7) & 0xff), uint8_t((y * 4 + index * 3) & 0xff),
                uint8_t((x + y + index) & 0xff));
  }
  return f;
}

double bt601_y(int r, int g, int b) {
  return 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
}
double bt601_cb(int r, int g, int b) {
  return 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255;
}
double bt601_cr(int r, int g, int b) {
  return 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255;
}

videohw::CommonEncodeConfig small_config(videohw::Codec codec, int width, int height) {
  videohw::CommonEncodeConfig c;
  c.codec = codec;
  c.width = width;
  c.height = height;
  c.fps_num = 30;
  c.fps_den = 1;
  c.gop_length = 60;
  c.b_frames = 0;
  c.frame_interval_p = 1;
  c.rate_control.mode = videohw::RateControlMode::CBR;
  c.rate_control.bitrate_bps = 500'000;
  return c;
}

}  // namespace vhtest
