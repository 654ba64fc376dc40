// The encoder-only ceiling: how fast this machine's libx264 (Debian's libavcodec) encodes
// when nothing but the encoder runs. The encoder is opened with exactly the software
// adapter's settings (software::map_encoder_options + software::open_encoder), the frames
// are already in encoder-ready AVFrames (read once from a raw I420 file, then cycled), and
// only avcodec_send_frame / avcodec_receive_packet are timed: no Python, no frame checks,
// no copies of the packets. videohw's software path can at best reach this rate.
//
// Prints one JSON object on stdout. Run with --help for the flags; docs/benchmarks.md says
// how bench/encode_vs_peers.py drives it.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
}

#include "contract/errors.hpp"
#include "software/encoder_options.hpp"

namespace sw = videohw::software;

namespace {

struct Args {
  std::string input;   // raw I420 file, frames back to back, minimum pitch
  std::string output;  // optional: write the Annex-B stream here (after timing)
  int width = 1920, height = 1080;
  int fps = 30;
  int frames = 300;  // timed frames
  int warmup = 30;   // untimed frames encoded first
  int distinct = 0;  // frames loaded from the file and cycled; 0: all of them
  int threads = 0;   // SoftwareEncodeConfig.threads
  std::string preset = "ultrafast";
  std::string tune;  // extra tune; low_latency adds zerolatency
  bool low_latency = true;
  int gop = 60;
  int64_t bitrate = 8'000'000;
  int64_t vbv = 8'000'000;
};

[[noreturn]] void usage(const char* argv0, int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: %s --input FILE [--size WxH] [--fps N] [--frames N] [--warmup N]\n"
               "          [--distinct N] [--threads N] [--preset P] [--tune T]\n"
               "          [--no-low-latency] [--gop N] [--bitrate BPS] [--vbv BITS]\n"
               "          [--output FILE]\n"
               "Encodes --warmup then --frames I420 frames (cycling the first --distinct of\n"
               "FILE, all by default) with libx264 opened exactly as videohw's software\n"
               "adapter opens it (CBR), timing only send_frame/receive_packet of the\n"
               "--frames frames plus the final drain. Prints JSON on stdout.\n",
               argv0);
  std::exit(code);
}

int to_int(const std::string& flag, const char* text) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (!*text || *end) throw std::invalid_argument(flag + ": '" + text + "' is not an integer");
  return int(v);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage(argv[0], 0);
    if (flag == "--no-low-latency") {
      a.low_latency = false;
      continue;
    }
    if (i + 1 >= argc) usage(argv[0], 2);
    const char* v = argv[++i];
    if (flag == "--input")
      a.input = v;
    else if (flag == "--output")
      a.output = v;
    else if (flag == "--size") {
      if (std::sscanf(v, "%dx%d", &a.width, &a.height) != 2)
        throw std::invalid_argument("--size: '" + std::string(v) + "' is not WxH");
    } else if (flag == "--fps")
      a.fps = to_int(flag, v);
    else if (flag == "--frames")
      a.frames = to_int(flag, v);
    else if (flag == "--warmup")
      a.warmup = to_int(flag, v);
    else if (flag == "--distinct")
      a.distinct = to_int(flag, v);
    else if (flag == "--threads")
      a.threads = to_int(flag, v);
    else if (flag == "--preset")
      a.preset = v;
    else if (flag == "--tune")
      a.tune = v;
    else if (flag == "--gop")
      a.gop = to_int(flag, v);
    else if (flag == "--bitrate")
      a.bitrate = std::strtoll(v, nullptr, 10);
    else if (flag == "--vbv")
      a.vbv = std::strtoll(v, nullptr, 10);
    else
      usage(argv[0], 2);
  }
  if (a.input.empty()) usage(argv[0], 2);
  if (a.frames < 1 || a.warmup < 0 || a.distinct < 0)
    throw std::invalid_argument("--frames must be >= 1, --warmup and --distinct >= 0");
  return a;
}

// The first `distinct` frames of the raw file (all when 0), each in its own AVFrame
// allocated the way libavcodec likes (aligned rows), so the encoder reads them in place.
std::vector<sw::UniqueAVFrame> load_frames(const Args& a) {
  std::ifstream in(a.input, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + a.input);
  const size_t luma = size_t(a.width) * a.height;
  const size_t frame_size = luma * 3 / 2;
  std::vector<uint8_t> raw(frame_size);
  std::vector<sw::UniqueAVFrame> frames;
  while (a.distinct == 0 || int(frames.size()) < a.distinct) {
    if (!in.read(reinterpret_cast<char*>(raw.data()), std::streamsize(frame_size))) break;
    sw::UniqueAVFrame f(av_frame_alloc());
    if (!f) throw std::runtime_error("av_frame_alloc failed");
    f->format = sw::kEncoderPixelFormat;
    f->width = a.width;
    f->height = a.height;
    sw::check_av(av_frame_get_buffer(f.get(), 0), "allocating a frame");
    const uint8_t* src[4] = {raw.data(), raw.data() + luma, raw.data() + luma + luma / 4, nullptr};
    const int src_linesize[4] = {a.width, a.width / 2, a.width / 2, 0};
    av_image_copy(f->data, f->linesize, src, src_linesize, sw::kEncoderPixelFormat, a.width,
                  a.height);
    frames.push_back(std::move(f));
  }
  if (frames.empty())
    throw std::runtime_error(a.input + " holds no whole " + std::to_string(a.width) + "x" +
                             std::to_string(a.height) + " I420 frame");
  return frames;
}

struct Counts {
  int64_t packets = 0;
  int64_t bytes = 0;
};

// Collects every packet the encoder has ready. `sink` (may be null) keeps the bytes.
void receive(AVCodecContext* ctx, AVPacket* pkt, Counts& counts, std::vector<uint8_t>* sink) {
  for (;;) {
    const int ret = avcodec_receive_packet(ctx, pkt);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    sw::check_av(ret, "receiving a packet");
    counts.packets++;
    counts.bytes += pkt->size;
    if (sink) sink->insert(sink->end(), pkt->data, pkt->data + pkt->size);
    av_packet_unref(pkt);
  }
}

void send(AVCodecContext* ctx, AVFrame* frame, int64_t pts) {
  frame->pts = pts;
  frame->pict_type = AV_PICTURE_TYPE_NONE;
  sw::check_av(avcodec_send_frame(ctx, frame), "sending a frame");
}

// CPU time of every thread of this process (the encoder's slice threads included).
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

int run(const Args& a) {
  videohw::CommonEncodeConfig common;
  common.codec = videohw::Codec::H264;
  common.width = a.width;
  common.height = a.height;
  common.fps_num = a.fps;
  common.fps_den = 1;
  common.low_latency = a.low_latency;
  common.gop_length = a.gop;
  common.b_frames = 0;
  common.frame_interval_p = 1;
  common.rate_control.mode = videohw::RateControlMode::CBR;
  common.rate_control.bitrate_bps = a.bitrate;
  common.rate_control.max_bitrate_bps = a.bitrate;
  common.rate_control.vbv_buffer_bits = a.vbv;
  videohw::SoftwareEncodeConfig software;
  software.preset = a.preset;
  software.tune = a.tune;
  software.threads = a.threads;

  const sw::EncoderOptions options = sw::map_encoder_options(common, software);
  std::vector<sw::UniqueAVFrame> frames = load_frames(a);
  sw::UniqueAVCodecContext ctx = sw::open_encoder(common, options);
  sw::UniqueAVPacket pkt(av_packet_alloc());
  if (!pkt) throw std::runtime_error("av_packet_alloc failed");

  std::vector<uint8_t> stream;
  std::vector<uint8_t>* sink = a.output.empty() ? nullptr : &stream;
  const int64_t n = int64_t(frames.size());
  int64_t pts = 0;
  Counts warm;
  for (; pts < a.warmup; ++pts) {
    send(ctx.get(), frames[pts % n].get(), pts);
    receive(ctx.get(), pkt.get(), warm, sink);
  }

  Counts timed;
  const double cpu_start = process_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < a.frames; ++i, ++pts) {
    send(ctx.get(), frames[pts % n].get(), pts);
    receive(ctx.get(), pkt.get(), timed, sink);
  }
  sw::check_av(avcodec_send_frame(ctx.get(), nullptr), "draining");
  receive(ctx.get(), pkt.get(), timed, sink);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_seconds = process_cpu_seconds() - cpu_start;

  if (sink) {
    std::ofstream out(a.output, std::ios::binary);
    out.write(reinterpret_cast<const char*>(stream.data()), std::streamsize(stream.size()));
    if (!out) throw std::runtime_error("cannot write " + a.output);
  }

  std::string params;
  for (const auto& [key, value] : options.private_options)
    params += (params.empty() ? "" : " ") + key + "=" + value;
  std::printf(
      "{\"tool\": \"ceiling\", \"fps\": %.3f, \"frames\": %d, \"bytes\": %lld, "
      "\"packets\": %lld, \"seconds\": %.6f, \"cpu_seconds\": %.6f, \"warmup_frames\": %d, "
      "\"distinct_frames\": %lld, "
      "\"width\": %d, \"height\": %d, \"threads\": %d, \"thread_count_opened\": %d, "
      "\"thread_type\": %s, \"encoder\": %s, \"options\": %s, \"ffmpeg\": %s, "
      "\"libavcodec\": %s}\n",
      a.frames / seconds, a.frames, static_cast<long long>(timed.bytes),
      static_cast<long long>(timed.packets), seconds, cpu_seconds, a.warmup,
      static_cast<long long>(n), a.width, a.height, a.threads, ctx->thread_count,
      // The libx264 wrapper threads inside x264 (active_thread_type stays 0); the type asked
      // for decides whether x264 runs sliced threads (slice) or frame threads.
      json_string(ctx->thread_type == FF_THREAD_SLICE ? "slice" : "default").c_str(),
      json_string(options.encoder_name).c_str(), json_string(params).c_str(),
      json_string(av_version_info()).c_str(), json_string(LIBAVCODEC_IDENT).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "videohw_encoder_ceiling: %s\n", e.what());
    return 1;
  }
}
