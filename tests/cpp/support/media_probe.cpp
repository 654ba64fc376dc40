#include "support/media_probe.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

namespace vhtest {

namespace {

struct InputFree {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

std::string text_of(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof(text));
  return text;
}

class Decoder {
 public:
  Decoder(const AVStream* stream, ProbedFile& out) : out_(out) {
    const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
    if (!codec) throw std::runtime_error("probe_file: no decoder for the stream");
    context_.reset(avcodec_alloc_context3(codec));
    avcodec_parameters_to_context(context_.get(), stream->codecpar);
    context_->thread_count = 1;
    context_->pkt_timebase = stream->time_base;
    if (avcodec_open2(context_.get(), codec, nullptr) < 0)
      throw std::runtime_error("probe_file: cannot open the decoder");
    frame_.reset(av_frame_alloc());
  }
  void send(const AVPacket* packet) {
    if (avcodec_send_packet(context_.get(), packet) < 0) out_.decode_errors++;
    receive();
  }

 private:
  void receive() {
    while (avcodec_receive_frame(context_.get(), frame_.get()) == 0) {
      ProbedPicture p;
      p.width = frame_->width;
      p.height = frame_->height;
      p.key = frame_->key_frame != 0;
      p.pts = frame_->best_effort_timestamp;
      out_.pictures.push_back(p);
      av_frame_unref(frame_.get());
    }
  }
  ProbedFile& out_;
  std::unique_ptr<AVCodecContext, CodecFree> context_;
  std::unique_ptr<AVFrame, FrameFree> frame_;
};

}  // namespace

ProbedFile probe_file(const std::string& path, const std::string& format) {
  const AVInputFormat* forced = format.empty() ? nullptr : av_find_input_format(format.c_str());
  AVFormatContext* raw = nullptr;
  const int ret = avformat_open_input(&raw, ("file:" + path).c_str(), forced, nullptr);
  if (ret < 0) throw std::runtime_error("probe_file: cannot open " + path + ": " + text_of(ret));
  std::unique_ptr<AVFormatContext, InputFree> input(raw);
  if (avformat_find_stream_info(input.get(), nullptr) < 0)
    throw std::runtime_error("probe_file: no stream info in " + path);
  const int index = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) throw std::runtime_error("probe_file: no video stream in " + path);
  const AVStream* stream = input->streams[index];
  ProbedFile out;
  out.format = input->iformat->name;
  out.codec = avcodec_get_name(stream->codecpar->codec_id);
  char tag[AV_FOURCC_MAX_STRING_SIZE] = {0};
  if (stream->codecpar->codec_tag) av_fourcc_make_string(tag, stream->codecpar->codec_tag);
  out.codec_tag = tag;
  out.width = stream->codecpar->width;
  out.height = stream->codecpar->height;
  out.time_base_num = stream->time_base.num;
  out.time_base_den = stream->time_base.den;
  if (stream->start_time != AV_NOPTS_VALUE)
    out.start_time = stream->start_time * av_q2d(stream->time_base);
  if (stream->duration != AV_NOPTS_VALUE)
    out.duration = stream->duration * av_q2d(stream->time_base);
  out.extradata.assign(stream->codecpar->extradata,
                       stream->codecpar->extradata + stream->codecpar->extradata_size);
  Decoder decoder(stream, out);
  std::unique_ptr<AVPacket, PacketFree> packet(av_packet_alloc());
  while (av_read_frame(input.get(), packet.get()) >= 0) {
    if (packet->stream_index == index) {
      out.packets.push_back({packet->pts, packet->dts, packet->duration,
                             (packet->flags & AV_PKT_FLAG_KEY) != 0, packet->size});
      decoder.send(packet.get());
    }
    av_packet_unref(packet.get());
  }
  decoder.send(nullptr);
  return out;
}

bool have_ffmpeg_tool() {
  return std::system("ffmpeg -version >/dev/null 2>&1") == 0;
}

std::string ffmpeg_complaints(const std::string& path) {
  const std::string command =
      "ffmpeg -nostdin -v error -i " + shell_quoted(path) + " -f null - 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return "cannot run ffmpeg";
  std::string out;
  char buffer[512];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe.get())) > 0) out.append(buffer, n);
  return out;
}

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool run_command(const std::string& command) {
  return std::system(command.c_str()) == 0;
}

}  // namespace vhtest
