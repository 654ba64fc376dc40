// MP4, fragmented MP4, Matroska and MPEG-TS files through libavformat: one video stream
// and any copied ones. Video alone is handed over as it comes; with copied streams every
// packet goes through libavformat's interleaving queue, which orders the streams by time.
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "media/avformat_ptr.hpp"
#include "media/ffmpeg_log.hpp"
#include "media/segment_writer.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/mem.h>
}

namespace videohw::media {

namespace {

struct DictionaryDeleter {
  void operator()(AVDictionary* d) const { av_dict_free(&d); }
};
using UniqueDictionary = std::unique_ptr<AVDictionary, DictionaryDeleter>;

const char* muxer_name(ContainerFormat format) {
  switch (format) {
    case ContainerFormat::Mp4:
    case ContainerFormat::FragmentedMp4:
      return "mp4";
    case ContainerFormat::Matroska:
      return "matroska";
    case ContainerFormat::MpegTs:
      return "mpegts";
    case ContainerFormat::AnnexB:
      break;
  }
  throw Error(ErrorKind::Generic, "open_container_file: Annex-B is not a libavformat container");
}

// Options of the libavformat muxer for `setup` (movflags and friends).
UniqueDictionary muxer_options(const ContainerSetup& setup) {
  AVDictionary* options = nullptr;
  if (setup.format == ContainerFormat::Mp4 && setup.faststart)
    av_dict_set(&options, "movflags", "+faststart", 0);
  if (setup.format == ContainerFormat::FragmentedMp4) {
    // The moov goes first with no samples, then one moof+mdat per fragment; a fragment
    // ends at the first keyframe once it is fragment_ms long (min_frag_duration).
    av_dict_set(&options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    av_dict_set_int(&options, "min_frag_duration", int64_t(setup.fragment_ms) * 1000, 0);
    // Each finished fragment reaches the file at once, so it can be read while written.
    av_dict_set(&options, "flush_packets", "1", 0);
  }
  return UniqueDictionary(options);
}

const AVOutputFormat* output_format(ContainerFormat format) {
  return av_guess_format(muxer_name(format), nullptr, nullptr);
}

}  // namespace

void SegmentWriter::write_copied(const CopiedPacket&) {
  throw Error(ErrorKind::Generic, "this segment writer has no copied streams");
}

std::string copy_problem(ContainerFormat format, const CopiedStream& stream) {
  if (format == ContainerFormat::AnnexB)
    return "a raw Annex-B stream holds video only; write a container (.mp4, .mkv, .ts) to "
           "keep the " +
           stream.kind + " stream";
  if (!stream.parameters) return "no codec parameters for the copied stream";
  const AVOutputFormat* muxer = output_format(format);
  // 1: yes, 0: no; a negative answer means the muxer keeps no list (MPEG-TS), and takes any.
  if (muxer && avformat_query_codec(muxer, stream.parameters->codec_id, FF_COMPLIANCE_NORMAL) == 0)
    return std::string(to_string(format)) + " cannot carry " + stream.kind + " codec " +
           stream.codec_name + " as it is; write .mkv, or leave the " + stream.kind + " out";
  return "";
}

namespace {

class ContainerFile final : public SegmentWriter {
 public:
  ContainerFile(const std::string& temp_path, const std::string& final_path,
                const ContainerSetup& setup)
      : name_("'" + final_path + "' (temporary '" + temp_path + "')"),
        kind_(to_string(setup.format)),
        input_time_base_{setup.time_base_num, setup.time_base_den},
        frame_duration_(setup.frame_duration),
        packet_(av_packet_alloc()) {
    if (!packet_) throw media_error(AVERROR(ENOMEM), "allocating a packet for " + name_);
    // "file:" keeps a colon in the name from being read as a protocol. The url is also
    // what +faststart reopens to move the moov to the front.
    const std::string url = "file:" + temp_path;
    AVFormatContext* raw = nullptr;
    int ret =
        avformat_alloc_output_context2(&raw, output_format(setup.format), nullptr, url.c_str());
    if (ret < 0) throw media_error(ret, "setting up the " + kind_ + " muxer for " + name_);
    context_.reset(raw);
    add_stream(setup);
    for (const CopiedStream& copied : setup.copied_streams) add_copied_stream(copied);
    interleave_ = !setup.copied_streams.empty();
    AVIOContext* io = nullptr;
    ret = avio_open2(&io, url.c_str(), AVIO_FLAG_WRITE, nullptr, nullptr);
    if (ret < 0) throw media_error(ret, "opening " + name_);
    io_.reset(io);
    context_->pb = io;
    AVDictionary* options = muxer_options(setup).release();
    ret = avformat_write_header(context_.get(), &options);
    av_dict_free(&options);
    if (ret < 0) throw media_error(ret, "writing the " + kind_ + " header of " + name_);
  }

  void write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, bool keyframe) override {
    if (size > size_t(INT_MAX))
      throw Error(ErrorKind::Media, "a packet of " + std::to_string(size) +
                                        " bytes is larger than libavformat takes");
    AVPacket* packet = packet_.get();
    // Not reference-counted: av_write_frame reads the bytes and keeps no pointer to them.
    packet->data = const_cast<uint8_t*>(data);
    packet->size = int(size);
    packet->pts = pts;
    packet->dts = dts;
    packet->duration = frame_duration_;
    packet->flags = keyframe ? AV_PKT_FLAG_KEY : 0;
    packet->stream_index = 0;
    av_packet_rescale_ts(packet, input_time_base_, context_->streams[0]->time_base);
    // The interleaving queue keeps packets, so it gets its own copy of the bytes.
    const int ret = interleave_ ? av_interleaved_write_frame(context_.get(), packet)
                                : av_write_frame(context_.get(), packet);
    packet->data = nullptr;
    packet->size = 0;
    av_packet_unref(packet);
    if (ret < 0)
      throw media_error(ret, "writing the packet with pts " + std::to_string(pts) + " to " + name_);
  }

  void write_copied(const CopiedPacket& copied) override {
    const size_t index = size_t(copied.stream) + 1;
    if (copied.stream < 0 || index >= context_->nb_streams)
      throw Error(ErrorKind::Generic, "write_copied: no copied stream " +
                                          std::to_string(copied.stream) + " in " + name_);
    if (copied.data.size() > size_t(INT_MAX))
      throw Error(ErrorKind::Media, "a copied packet of " + std::to_string(copied.data.size()) +
                                        " bytes is larger than libavformat takes");
    AVPacket* packet = packet_.get();
    packet->data = const_cast<uint8_t*>(copied.data.data());
    packet->size = int(copied.data.size());
    packet->pts = copied.pts == INT64_MIN ? AV_NOPTS_VALUE : copied.pts;
    packet->dts = copied.dts == INT64_MIN ? AV_NOPTS_VALUE : copied.dts;
    packet->duration = copied.duration;
    packet->flags = copied.keyframe ? AV_PKT_FLAG_KEY : 0;
    packet->stream_index = int(index);
    av_packet_rescale_ts(packet, copied_time_bases_[size_t(copied.stream)],
                         context_->streams[index]->time_base);
    const int ret = av_interleaved_write_frame(context_.get(), packet);
    packet->data = nullptr;
    packet->size = 0;
    av_packet_unref(packet);
    if (ret < 0)
      throw media_error(
          ret, "writing a copied packet with pts " + std::to_string(copied.pts) + " to " + name_);
  }

  void finish() override {
    int ret = av_write_trailer(context_.get());
    if (ret < 0) throw media_error(ret, "writing the " + kind_ + " trailer of " + name_);
    AVIOContext* io = io_.get();
    avio_flush(io);
    if (io->error < 0) throw media_error(io->error, "writing " + name_);
    context_->pb = nullptr;
    io = io_.release();
    ret = avio_closep(&io);
    if (ret < 0) throw media_error(ret, "closing " + name_);
  }

 private:
  void add_stream(const ContainerSetup& setup) {
    AVStream* stream = avformat_new_stream(context_.get(), nullptr);
    if (!stream) throw media_error(AVERROR(ENOMEM), "adding the video stream to " + name_);
    stream->time_base = input_time_base_;  // a wish: the muxer may pick its own
    stream->avg_frame_rate = AVRational{setup.fps_num, setup.fps_den};
    AVCodecParameters* par = stream->codecpar;
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = setup.parameters.codec == Codec::HEVC ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
    par->width = setup.parameters.width;
    par->height = setup.parameters.height;
    if (setup.rotation && *setup.rotation != 0.0) {
      // The source's display matrix, so a portrait phone video still plays upright.
      auto* matrix = reinterpret_cast<int32_t*>(
          av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t)));
      if (!matrix) throw media_error(AVERROR(ENOMEM), "adding the display matrix to " + name_);
      // av_display_rotation_get reads an angle counter-clockwise; _set takes one clockwise.
      av_display_rotation_set(matrix, -*setup.rotation);
    }
    // MPEG-TS carries the parameter sets in band only; MP4 and Matroska need the record.
    if (setup.format == ContainerFormat::MpegTs) return;
    const std::vector<uint8_t> record = codec_configuration_record(setup.parameters);
    par->extradata =
        static_cast<uint8_t*>(av_mallocz(record.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!par->extradata) throw media_error(AVERROR(ENOMEM), "copying the codec record of " + name_);
    std::memcpy(par->extradata, record.data(), record.size());
    par->extradata_size = int(record.size());
  }

  void add_copied_stream(const CopiedStream& copied) {
    AVStream* stream = avformat_new_stream(context_.get(), nullptr);
    if (!stream) throw media_error(AVERROR(ENOMEM), "adding a copied stream to " + name_);
    int ret = avcodec_parameters_copy(stream->codecpar, copied.parameters.get());
    if (ret < 0) throw media_error(ret, "copying the codec parameters of a stream into " + name_);
    // The input's codec tag may mean nothing in this container (mp4a in Matroska).
    stream->codecpar->codec_tag = 0;
    const AVRational time_base{copied.time_base.num, copied.time_base.den};
    stream->time_base = time_base;
    copied_time_bases_.push_back(time_base);
  }

  std::string name_;  // for messages: the final path and the temporary one
  std::string kind_;  // "mp4", "mkv", ...
  AVRational input_time_base_;
  int64_t frame_duration_;
  bool interleave_ = false;
  std::vector<AVRational> copied_time_bases_;
  UniquePacket packet_;
  // Drop order: the context (which points at io_ but does not own it) goes first.
  UniqueFileIo io_;
  UniqueOutputContext context_;
};

}  // namespace

std::unique_ptr<SegmentWriter> open_container_file(const std::string& temp_path,
                                                   const std::string& final_path,
                                                   const ContainerSetup& setup) {
  install_ffmpeg_log();
  return std::make_unique<ContainerFile>(temp_path, final_path, setup);
}

}  // namespace videohw::media
