// libFuzzer target: a software DecodeSession end to end (the session, AVCC/HVCC input
// conversion, the libavcodec decoder wrapper and its NATIVE_SURFACE / CPU_RGB output), driven
// by a script of API calls read from the input.
//
// Input:
//   byte 0   bits 0-1 codec (H.264, HEVC, VP9, AV1); bits 2-3 output mode (METADATA_ONLY,
//            NATIVE_SURFACE, CPU_RGB, mod 3); bit 4 length-prefixed input with a record
//            (AVCC for H.264, HVCC for HEVC; ignored for VP9 / AV1); bit 5 low_latency;
//            bits 6-7 max_display_delay (none, 0, 4, 16)
//   byte 1   bits 0-1 max_width and bits 2-3 max_height (512, 256, 64, 16); bits 4-5
//            max_access_unit_bytes (1 MiB, 64 KiB, 16 KiB, 4 KiB)
//   [bit 4]  2 bytes big-endian record size, then the record (CommonDecodeConfig.extradata)
//   then operations until the input ends, one byte each: opcode = low nibble mod 9,
//   argument = high nibble
//     0 push       2 bytes big-endian size (at most 4096), then the bytes; arg bit 0: with
//                  a pts
//     1 push_unit  as push; arg bit 0: skip_output
//     2 reap
//     3 flush      arg bit 0: flush again, which must give nothing and raise nothing
//     4 drain
//     5 reset      arg bit 0: new_stream; arg bit 1: then flush, which must give nothing
//     6 switch     then 1 byte of limits as byte 1; arg bits 0-1 output mode (mod 3),
//                  bit 2 toggles low_latency (a new decoder), bit 3 moves to the next codec
//                  (with Annex-B input)
//     7 handles    a stale and a never-issued generation must be refused; state, telemetry
//     8 close      every later call must raise SessionClosed
//   and close() at the end.
//
// Configs stay inside what CommonDecodeConfig in python/videohw/contract.py accepts (sides
// >= 16, max_access_unit_bytes >= 4096, a record only with AVCC / HVCC), so every input is
// reachable from Python. Any videohw::Error is an expected outcome of hostile input. A
// finding is anything else: a crash, a sanitizer report, a leak, another exception type, a
// hang, too much memory, or a broken promise of the decode contract (checked below; each
// aborts with its reason). Every plane byte of every frame is read, so ASan checks the
// plane pointers and sizes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "contract/errors.hpp"
#include "session/decode_session.hpp"
#include "software/software_decode_provider.hpp"

using namespace videohw;

namespace {

// One push takes at most this many bytes. A 4 KiB chunk of skipped P pictures still holds
// ~400 pictures, and the session keeps every picture one push decodes until it is reaped
// (the open issue of unbounded frames per push, docs/hostile.md): larger chunks would only
// find that issue again, as out-of-memory, instead of new ones.
constexpr size_t kMaxChunk = 4096;
// Frames waiting in the session beyond this are reaped by the harness after a push, as a
// well-behaved caller does, so memory stays bounded across many pushes.
constexpr int64_t kMaxWaiting = 16;

constexpr Codec kCodecs[] = {Codec::H264, Codec::HEVC, Codec::VP9, Codec::AV1};
constexpr DecodeOutputMode kOutputs[] = {DecodeOutputMode::MetadataOnly,
                                         DecodeOutputMode::NativeSurface, DecodeOutputMode::CpuRgb};
constexpr int kSides[] = {512, 256, 64, 16};
constexpr int64_t kAccessUnitLimits[] = {int64_t(1) << 20, int64_t(64) << 10, int64_t(16) << 10,
                                         int64_t(4) << 10};
constexpr int kDisplayDelays[] = {-1, 0, 4, 16};

void set_limits(CommonDecodeConfig& config, uint8_t limits) {
  config.max_width = kSides[limits & 3];
  config.max_height = kSides[(limits >> 2) & 3];
  config.max_access_unit_bytes = kAccessUnitLimits[(limits >> 4) & 3];
}

void check(bool ok, const char* promise) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_decode_session: broken promise: %s\n", promise);
  std::abort();
}

size_t codec_index(Codec codec) {
  for (size_t i = 0; i < 4; ++i)
    if (kCodecs[i] == codec) return i;
  return 0;
}

struct Span {
  const uint8_t* data;
  size_t size;
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t byte() { return empty() ? 0 : data_[pos_++]; }
  size_t u16() {
    const size_t high = byte();
    return high << 8 | byte();
  }
  // Up to `want` bytes, fewer when the input ends first; points into the fuzzer's buffer
  // so ASan sees any read past what was handed over.
  Span bytes(size_t want) {
    const size_t n = want < size_ - pos_ ? want : size_ - pos_;
    const Span out{data_ + pos_, n};
    pos_ += n;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

class Harness {
 public:
  Harness(const CommonDecodeConfig& config, std::shared_ptr<const DecoderProvider> provider)
      : config_(config), provider_(std::move(provider)) {
    limits_.emplace_back(0, 0);  // generations count from 1
    limits_.emplace_back(config.max_width, config.max_height);
  }

  void run(Reader& script) {
    try {
      session_ = std::make_unique<DecodeSession>(1, config_, provider_);
    } catch (const Error&) {
      return;  // a record or config the session refuses is an ordinary outcome
    }
    while (!script.empty()) step(script);
    if (!closed_) close();
  }

 private:
  void step(Reader& script) {
    const uint8_t op = script.byte();
    const int arg = op >> 4;
    switch ((op & 0x0F) % 9) {
      case 0: {
        const Span bytes = chunk(script);
        std::optional<int64_t> pts;
        if (arg & 1) pts = given(next_tag_++);
        call([&] { session_->push(generation_, bytes.data, bytes.size, pts); });
        reap_if_many();
        break;
      }
      case 1: {
        const Span bytes = chunk(script);
        DecodeUnit unit;
        unit.data = bytes.data;
        unit.size = bytes.size;
        unit.tag = given(kUnitTags + next_tag_++);
        unit.skip_output = (arg & 1) != 0;
        call([&] { session_->push_unit(generation_, unit); });
        reap_if_many();
        break;
      }
      case 2:
        call([&] { take(session_->reap(generation_)); });
        break;
      case 3: {
        const bool ok = call([&] { take(session_->flush(generation_)); });
        if (ok && (arg & 1)) {
          const bool again = expected([&] {
            check(session_->flush(generation_).empty(), "a second flush gives no frame");
          });
          check(again, "a second flush raises nothing");
        }
        break;
      }
      case 4:
        call([&] { take(session_->drain(generation_)); });
        break;
      case 5: {
        const bool ok = call([&] { session_->reset(generation_, (arg & 1) != 0); });
        if (ok) {
          check(session_->reap(generation_).empty(), "reset drops the frames ready to reap");
          if (arg & 2) {
            const bool flushed = expected([&] {
              check(session_->flush(generation_).empty(),
                    "a flush right after reset gives nothing of the data pushed before");
            });
            check(flushed, "a flush right after reset raises nothing");
          }
        }
        break;
      }
      case 6: {
        CommonDecodeConfig target = config_;
        set_limits(target, script.byte());
        target.output = kOutputs[(arg & 3) % 3];
        if (arg & 4) target.low_latency = !target.low_latency;
        if (arg & 8) {
          target.codec = kCodecs[(codec_index(target.codec) + 1) % 4];
          target.input_layout = EncodedLayout::AnnexB;
          target.extradata.clear();
        }
        if (closed_) {
          refused_after_close([&] { session_->switch_to(generation_, target, provider_); });
          break;
        }
        uint32_t next = 0;
        try {
          next = session_->switch_to(generation_, target, provider_);
        } catch (const Error& e) {
          check(e.kind() == ErrorKind::Switch, "a failed switch raises SwitchError");
          break;
        }
        check(next == generation_ + 1, "a switch makes the next generation active");
        generation_ = next;
        config_ = target;
        limits_.emplace_back(target.max_width, target.max_height);
        break;
      }
      case 7:
        handles();
        break;
      case 8:
        if (closed_) {
          refused_after_close([&] { session_->close(generation_); });
        } else {
          close();
        }
        break;
    }
  }

  // Decode errors while draining are recorded, not raised: close() on the active
  // generation always succeeds.
  void close() {
    check(expected([&] { take(session_->close(generation_)); }),
          "close() on the active generation raises nothing");
    check(session_->state().closed, "close() leaves the session closed");
    closed_ = true;
  }

  Span chunk(Reader& script) {
    const size_t want = script.u16();
    return script.bytes(want < kMaxChunk ? want : kMaxChunk);
  }

  int64_t given(int64_t tag) {
    given_.insert(tag);
    return tag;
  }

  // Runs one API call: true when it returned. Any videohw::Error is an expected outcome of
  // hostile input; after close() only SessionClosed is.
  template <typename F>
  bool call(F f) {
    if (closed_) {
      refused_after_close(f);
      return false;
    }
    return expected(f);
  }

  template <typename F>
  static bool expected(F f) {
    try {
      f();
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  template <typename F>
  static void refused_after_close(F f) {
    try {
      f();
    } catch (const Error& e) {
      check(e.kind() == ErrorKind::SessionClosed, "a closed session raises SessionClosed");
      return;
    }
    check(false, "a closed session refuses every call");
  }

  void reap_if_many() {
    if (closed_) return;
    for (const auto& [key, value] : session_->telemetry()) {
      if (key != "frames_ready") continue;
      if (std::get<int64_t>(value) > kMaxWaiting) take(session_->reap(generation_));
      return;
    }
  }

  void handles() {
    if (closed_) {
      refused_after_close([&] { session_->reap(generation_); });
      return;
    }
    const uint8_t byte = 0;
    if (generation_ > 1) {
      try {
        session_->push(generation_ - 1, &byte, 1, std::nullopt);
        check(false, "a stale generation is refused");
      } catch (const Error& e) {
        check(e.kind() == ErrorKind::StaleSession, "a stale generation raises StaleSession");
      }
    }
    try {
      session_->reap(generation_ + 1);
      check(false, "a generation never issued is refused");
    } catch (const Error& e) {
      check(e.kind() == ErrorKind::Config, "a generation never issued raises ConfigError");
    }
    const DecodeStateInfo state = session_->state();
    check(state.active_generation == generation_, "state() names the active generation");
    check(state.codec == config_.codec && state.output == config_.output,
          "state() describes the active config");
    check(!session_->telemetry().empty(), "telemetry() reports");
  }

  // Checks each frame against the contract and reads every byte of every plane row.
  void take(const std::vector<DecodedFrame>& frames) {
    for (const DecodedFrame& f : frames) {
      check(f.generation >= 1 && f.generation <= generation_,
            "frames carry a generation the session had");
      check(f.width > 0 && f.height > 0, "frames have a size");
      const auto [max_width, max_height] = limits_[f.generation];
      check(f.width <= max_width && f.height <= max_height,
            "no frame exceeds max_width x max_height of its generation");
      check(!f.pts || given_.count(*f.pts), "a frame's pts is one that was pushed");
      check(!f.on_device, "software frames live in host memory");
      switch (f.output) {
        case DecodeOutputMode::MetadataOnly:
          check(f.planes.empty() && !f.owner && f.pixel_format.empty(),
                "METADATA_ONLY frames carry no pixels");
          break;
        case DecodeOutputMode::NativeSurface:
          check(!f.planes.empty() && f.owner && !f.pixel_format.empty(),
                "NATIVE_SURFACE frames carry planes and their owner");
          check(f.planes[0].height == f.height, "the first native plane is the picture's height");
          break;
        case DecodeOutputMode::CpuRgb:
          check(f.planes.size() == 1 && f.owner && f.pixel_format == "rgb24",
                "CPU_RGB frames carry one rgb24 plane");
          check(f.planes[0].width_bytes == f.width * 3 && f.planes[0].height == f.height,
                "the rgb24 plane is width x 3 by height");
          break;
      }
      for (const SurfacePlane& p : f.planes) {
        check(p.data && p.width_bytes > 0 && p.height > 0 && p.pitch >= p.width_bytes,
              "planes have memory, a size and a pitch that covers a row");
        uint32_t sum = 0;
        for (int row = 0; row < p.height; ++row) {
          const uint8_t* line = p.data + ptrdiff_t(row) * p.pitch;
          for (int x = 0; x < p.width_bytes; ++x) sum += line[x];
        }
        sink_ = sink_ + sum;  // the reads must happen: their sum is observable
      }
    }
  }

  // Unit tags and push pts never collide, so a frame's pts names what it came from.
  static constexpr int64_t kUnitTags = int64_t(1) << 40;

  CommonDecodeConfig config_;
  std::shared_ptr<const DecoderProvider> provider_;
  std::unique_ptr<DecodeSession> session_;
  uint32_t generation_ = 1;
  std::vector<std::pair<int, int>> limits_;  // max_width, max_height by generation
  bool closed_ = false;
  int64_t next_tag_ = 0;
  std::unordered_set<int64_t> given_;
  volatile uint32_t sink_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // libavcodec logs every damaged unit at error level; millions of inputs would bury the
  // fuzzer's own report. VIDEOHW_FFMPEG_LOG_LEVEL set by the caller still wins (to see
  // FFmpeg's view of one crash input).
  setenv("VIDEOHW_FFMPEG_LOG_LEVEL", "-8", 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Reader script(data, size);
  const uint8_t flags = script.byte();

  CommonDecodeConfig config;
  config.codec = kCodecs[flags & 3];
  config.output = kOutputs[((flags >> 2) & 3) % 3];
  const bool records =
      (flags & 0x10) != 0 && (config.codec == Codec::H264 || config.codec == Codec::HEVC);
  config.low_latency = (flags & 0x20) != 0;
  if (const int delay = kDisplayDelays[flags >> 6]; delay >= 0) config.max_display_delay = delay;
  set_limits(config, script.byte());
  if (records) {
    config.input_layout = config.codec == Codec::HEVC ? EncodedLayout::HVCC : EncodedLayout::AVCC;
    const Span record = script.bytes(script.u16());
    if (record.size == 0) return 0;  // the contract refuses AVCC / HVCC without a record
    config.extradata.assign(record.data, record.data + record.size);
  }

  // Threads = 1: the same input decodes the same way every time, so findings reproduce.
  static const auto provider =
      std::make_shared<const software::SoftwareDecoderProvider>(SoftwareDecodeConfig{1});
  Harness harness(config, provider);
  harness.run(script);
  return 0;
}
