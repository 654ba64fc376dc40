#include "media/demuxer.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "media/ffmpeg_log.hpp"
#include "media/stream_description.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace videohw::media {

namespace {

// The demuxers a video file may need. Everything else (HLS and DASH playlists, concat
// scripts, image sequences, tee/data protocols) can make libavformat open other files or
// URLs named inside the input, which a media file must never do.
constexpr const char* kDemuxers =
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,avi,flv,mpeg,h264,hevc,obu,ivf";
constexpr int kIoBufferSize = 1 << 16;

int read_source(void* opaque, uint8_t* buffer, int size) {
  const int n = static_cast<ByteSource*>(opaque)->read(buffer, size);
  return n == 0 ? AVERROR_EOF : n;
}

int64_t seek_source(void* opaque, int64_t offset, int whence) {
  auto* source = static_cast<ByteSource*>(opaque);
  if (whence & AVSEEK_SIZE) return source->size();
  if (!source->seekable()) return AVERROR(ENOSYS);
  return source->seek(offset, whence & ~AVSEEK_FORCE);
}

std::string prefixed(const std::string& name, const std::string& what) {
  return name + ": " + what;
}

}  // namespace

std::unique_ptr<Demuxer> Demuxer::open_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(ErrorKind::MediaIo, prefixed(path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode))
    throw Error(ErrorKind::Media, prefixed(path, "is a directory, not a media file"));
  std::unique_ptr<Demuxer> d(new Demuxer());
  d->path_ = path;
  d->info_.name = path;
  d->open_context();
  return d;
}

std::unique_ptr<Demuxer> Demuxer::open_source(std::unique_ptr<ByteSource> source,
                                              const std::string& name) {
  if (!source) throw Error(ErrorKind::Config, "Demuxer: no byte source");
  std::unique_ptr<Demuxer> d(new Demuxer());
  d->source_ = std::move(source);
  d->info_.name = name;
  d->open_context();
  return d;
}

Demuxer::~Demuxer() {
  packet_.reset();
  ctx_.reset();  // before io_: the context reads through it until closed
  io_.reset();
}

void Demuxer::open_context() {
  install_ffmpeg_log();
  const std::string& name = info_.name;
  packet_.reset();
  ctx_.reset();
  io_.reset();
  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) throw Error(ErrorKind::MediaIo, prefixed(name, "out of memory"));
  raw->format_whitelist = av_strdup(kDemuxers);
  AVDictionary* options = nullptr;
  if (source_) {
    if (source_->seekable() && source_->seek(0, SEEK_SET) < 0) {
      avformat_free_context(raw);
      throw Error(ErrorKind::MediaIo, prefixed(name, "the file object cannot seek back to 0"));
    }
    auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
    io_.reset(avio_alloc_context(buffer, kIoBufferSize, 0, source_.get(), &read_source, nullptr,
                                 source_->seekable() ? &seek_source : nullptr));
    if (!io_) {
      av_free(buffer);
      avformat_free_context(raw);
      throw Error(ErrorKind::MediaIo, prefixed(name, "out of memory"));
    }
    io_->seekable = source_->seekable() ? AVIO_SEEKABLE_NORMAL : 0;
    raw->pb = io_.get();
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  } else {
    av_dict_set(&options, "protocol_whitelist", "file", 0);
  }
  const std::string url = source_ ? std::string() : "file:" + path_;
  int ret = avformat_open_input(&raw, url.c_str(), nullptr, &options);  // frees raw on error
  av_dict_free(&options);
  if (ret < 0) {
    if (ret == AVERROR_INVALIDDATA)
      throw Error(ErrorKind::Media,
                  prefixed(name,
                           "not a video container videohw reads (MP4/MOV, Matroska/WebM, "
                           "MPEG-TS, AVI, FLV, MPEG-PS, IVF, raw H.264/HEVC/AV1): "
                           "libavformat recognises no format in it"));
    throw media_error(ret, prefixed(name, "opening the container"));
  }
  ctx_.reset(raw);
  ret = avformat_find_stream_info(ctx_.get(), nullptr);
  if (ret < 0 && ctx_->nb_streams == 0)
    throw media_error(ret, prefixed(name, "reading the stream headers"));
  packet_.reset(av_packet_alloc());
  if (!packet_) throw Error(ErrorKind::MediaIo, prefixed(name, "out of memory"));
  raw_stream_ = is_elementary_stream_format(ctx_->iformat);
  const int keep = selected_;
  info_ = describe_container(*ctx_, name);
  if (keep >= 0) {
    selected_ = keep;
    apply_selection();
  }
}

bool Demuxer::seekable() const {
  if (source_) return source_->seekable();
  return ctx_ && ctx_->pb && (ctx_->pb->seekable & AVIO_SEEKABLE_NORMAL);
}

void Demuxer::select(int stream_index) {
  bool video = false;
  for (const auto& v : info_.video_streams) video = video || v.index == stream_index;
  if (!video)
    throw Error(ErrorKind::Config, prefixed(info_.name, "stream " + std::to_string(stream_index) +
                                                            " is not a video stream"));
  selected_ = stream_index;
  apply_selection();
}

void Demuxer::apply_selection() {
  for (unsigned i = 0; i < ctx_->nb_streams; ++i) {
    const bool read =
        int(i) == selected_ || std::find(copied_.begin(), copied_.end(), int(i)) != copied_.end();
    ctx_->streams[i]->discard = read ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
}

int Demuxer::best_audio_stream() const {
  const int found = av_find_best_stream(ctx_.get(), AVMEDIA_TYPE_AUDIO, -1, selected_, nullptr, 0);
  return found < 0 ? -1 : found;
}

CopiedStream Demuxer::copy_stream(int stream_index) {
  if (stream_index < 0 || unsigned(stream_index) >= ctx_->nb_streams)
    throw Error(ErrorKind::Config,
                prefixed(info_.name, "stream " + std::to_string(stream_index) + " does not exist"));
  if (stream_index == selected_)
    throw Error(ErrorKind::Config, prefixed(info_.name, "stream " + std::to_string(stream_index) +
                                                            " is the selected video stream"));
  const AVStream& s = *ctx_->streams[stream_index];
  std::shared_ptr<AVCodecParameters> parameters(
      avcodec_parameters_alloc(), [](AVCodecParameters* p) { avcodec_parameters_free(&p); });
  if (!parameters || avcodec_parameters_copy(parameters.get(), s.codecpar) < 0)
    throw Error(ErrorKind::MediaIo, prefixed(info_.name, "out of memory"));
  CopiedStream out;
  out.source_index = stream_index;
  const char* kind = av_get_media_type_string(s.codecpar->codec_type);
  out.kind = kind ? kind : "unknown";
  out.codec_name = avcodec_get_name(s.codecpar->codec_id);
  out.time_base = Rational{s.time_base.num, s.time_base.den};
  out.parameters = std::move(parameters);
  if (std::find(copied_.begin(), copied_.end(), stream_index) == copied_.end())
    copied_.push_back(stream_index);
  apply_selection();
  return out;
}

const VideoStreamInfo& Demuxer::selected_info() const {
  for (const auto& v : info_.video_streams)
    if (v.index == selected_) return v;
  throw Error(ErrorKind::Config, prefixed(info_.name, "no video stream is selected"));
}

bool Demuxer::read(PacketView& out) {
  if (selected_ < 0) throw Error(ErrorKind::Config, prefixed(info_.name, "select a stream first"));
  for (;;) {
    av_packet_unref(packet_.get());
    const int ret = av_read_frame(ctx_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN)) continue;
    if (ret == AVERROR_EOF) return false;
    if (ret < 0) {
      const Error error = media_error(ret, prefixed(info_.name, "reading a packet"));
      if (error.kind() == ErrorKind::MediaIo && ret != AVERROR(ENOMEM)) throw error;
      last_error_ = error.what();
      return false;
    }
    if (packet_->stream_index != selected_ &&
        std::find(copied_.begin(), copied_.end(), packet_->stream_index) == copied_.end())
      continue;
    const AVPacket& p = *packet_;
    out.data = p.data;
    out.size = size_t(p.size);
    out.pts = p.pts == AV_NOPTS_VALUE ? kNoTimestamp : p.pts;
    out.dts = p.dts == AV_NOPTS_VALUE ? kNoTimestamp : p.dts;
    out.duration = p.duration;
    out.pos = p.pos;
    out.keyframe = (p.flags & AV_PKT_FLAG_KEY) != 0;
    out.discard = (p.flags & AV_PKT_FLAG_DISCARD) != 0;
    out.corrupt = (p.flags & AV_PKT_FLAG_CORRUPT) != 0;
    out.stream = p.stream_index;
    return true;
  }
}

bool Demuxer::seek_bytes(int64_t pos) {
  if (pos < 0 || (ctx_->iformat->flags & AVFMT_NO_BYTE_SEEK)) return false;
  return av_seek_frame(ctx_.get(), selected_, pos, AVSEEK_FLAG_BYTE) >= 0;
}

bool Demuxer::seek(int64_t dts, int64_t pts, int64_t pos) {
  if (!seekable()) return false;
  last_error_.clear();
  if (raw_stream_) return seek_bytes(pos) || rewind();
  // Matroska indexes by pts; MP4, TS and the rest by dts.
  const bool by_pts = std::strstr(ctx_->iformat->name, "matroska") != nullptr;
  int64_t ts = by_pts ? pts : dts;
  if (ts == kNoTimestamp) ts = by_pts ? dts : pts;
  if (ts != kNoTimestamp && av_seek_frame(ctx_.get(), selected_, ts, AVSEEK_FLAG_BACKWARD) >= 0)
    return true;
  return seek_bytes(pos) || rewind();
}

bool Demuxer::rewind() {
  if (!seekable()) return false;
  last_error_.clear();
  if (raw_stream_ && seek_bytes(0)) return true;
  // A fresh open is the one way to the first packet that every demuxer honours (a seek to
  // a time before the first keyframe is answered differently by each).
  open_context();
  return true;
}

}  // namespace videohw::media
