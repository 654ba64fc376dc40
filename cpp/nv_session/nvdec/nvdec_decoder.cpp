#include "nv_session/nvdec/nvdec_decoder.hpp"

#include "contract/clock.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "nv_session/nvdec/nvdec_access_units.hpp"

namespace videohw::nv_session {

namespace {

// Sizes below this never need a new decoder on a size change (reconfigure instead).
constexpr int kMinMaxWidth = 1920, kMinMaxHeight = 1088;
// Surfaces beyond the stream's minimum, so decode can run ahead of the display callback.
constexpr int kExtraSurfaces = 4;
// Default display delay: lets decode of later pictures overlap the mapping of earlier ones.
constexpr int kDefaultDisplayDelay = 2;
// pts of pushes that held no picture (garbage), and tags of skipped pictures the parser
// never displayed, must not pile up.
constexpr size_t kMaxPendingPts = 512;
constexpr size_t kMaxSkipTags = 4096;

// H.264 picture parameters carry no IDR flag; the first slice's NAL header does.
bool h264_idr(const CUVIDPICPARAMS& p) {
  if (!p.pBitstreamData || p.nBitstreamDataLen < 4) return p.intra_pic_flag != 0;
  const unsigned char* d = p.pBitstreamData;
  const size_t n = std::min<size_t>(p.nBitstreamDataLen, 64);
  for (size_t i = 0; i + 3 < n; ++i)
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) return (d[i + 3] & 0x1f) == 5;
  return p.intra_pic_flag != 0;
}

}  // namespace

NvdecDecoder::NvdecDecoder(const CommonDecodeConfig& config, const NvidiaDecodeConfig& nvidia,
                           RgbTableSource rgb_tables)
    : config_(config), rgb_tables_(std::move(rgb_tables)) {
  if (config.max_display_delay && *config.max_display_delay < 0)
    throw Error(ErrorKind::Config, "CommonDecodeConfig.max_display_delay: " +
                                       std::to_string(*config.max_display_delay) +
                                       " is negative; expected 0 or more frames");
  std::optional<ParkedDecoder> parked =
      NvdecDecoderCache::get().take(cuda_driver(), nvidia.device, cuvid_codec(config.codec));
  if (parked) {
    device_ = parked->device;
    adopt_decoder(*parked);
  } else {
    device_ = NvdecDevice::open(nvidia.device);
  }
  in_flight_ = std::make_unique<NvdecFramesInFlight>(device_, kFramesInFlight);
  ensure_output_resources();
  create_parser();
}

NvdecDecoder::~NvdecDecoder() {
  // 1-2: end of stream; display callbacks still run, into a list nobody reads.
  std::vector<DecodedFrame> discarded;
  // A decoder that met a decode error or a damaged picture is not handed to another session.
  bool ended_clean = !callback_error_ && stats_.decode_errors == 0 && stats_.damaged_frames == 0;
  try {
    if (parser_ && pushed_since_flush_) flush(discarded);
  } catch (...) {
    ended_clean = false;
  }
  discarded.clear();
  // 2: nothing is mapped past here, and the events go.
  in_flight_.reset();
  // 3: surfaces. Frames a caller still holds keep their pool alive by themselves.
  rgb_.reset();
  pool_.reset();
  // 4-5: decoder, then parser.
  park_or_destroy_decoder(ended_clean);
  if (parser_) {
    // Destroyed even where the push fails: the handle is released either way.
    ContextScope scope(device_->context(), std::nothrow);
    device_->cuvid().cuvidDestroyVideoParser(parser_);
  }
  // 6: the device goes with the last shared owner.
  device_.reset();
}

void NvdecDecoder::ensure_output_resources() {
  const size_t frames =
      static_cast<size_t>(config_.max_ready_frames) + kFramesInFlight + kHeldBeyondReady;
  // The held frames' share of the bytes: a few 4K RGB pictures.
  const size_t bytes = static_cast<size_t>(config_.max_ready_bytes) + (size_t(256) << 20);
  if (config_.output == DecodeOutputMode::NativeSurface && !pool_)
    pool_ = NvdecSurfacePool::create(device_, frames, PoolMemory::Device, bytes);
  if (config_.output == DecodeOutputMode::CpuRgb && !rgb_)
    rgb_ = std::make_unique<NvdecRgbConverter>(device_, rgb_tables_, frames, bytes);
}

void NvdecDecoder::create_parser() {
  CUVIDPARSERPARAMS params{};
  params.CodecType = cuvid_codec(config_.codec);
  params.ulMaxNumDecodeSurfaces = 1;  // the sequence callback returns the real number
  params.ulClockRate = 0;
  params.ulErrorThreshold = 100;  // hand even damaged pictures over; status flags them
  params.ulMaxDisplayDelay = static_cast<unsigned>(
      config_.max_display_delay ? *config_.max_display_delay
                                : (config_.low_latency ? 0 : kDefaultDisplayDelay));
  params.pUserData = this;
  params.pfnSequenceCallback = &NvdecDecoder::on_sequence;
  params.pfnDecodePicture = &NvdecDecoder::on_decode;
  params.pfnDisplayPicture = &NvdecDecoder::on_display;
  ContextScope scope(device_->context(), ErrorKind::Decode);
  check_cuda(ErrorKind::Decode, device_->cuvid().cuvidCreateVideoParser(&parser_, &params),
             "cuvidCreateVideoParser",
             std::string("creating the ") + to_string(config_.codec) + " parser");
}

int CUDAAPI NvdecDecoder::on_sequence(void* self, CUVIDEOFORMAT* format) {
  auto* s = static_cast<NvdecDecoder*>(self);
  try {
    return s->handle_sequence(*format);
  } catch (...) {
    s->callback_error_ = std::current_exception();
    return 0;
  }
}

int CUDAAPI NvdecDecoder::on_decode(void* self, CUVIDPICPARAMS* picture) {
  auto* s = static_cast<NvdecDecoder*>(self);
  try {
    return s->handle_decode(*picture);
  } catch (...) {
    s->callback_error_ = std::current_exception();
    return 0;
  }
}

int CUDAAPI NvdecDecoder::on_display(void* self, CUVIDPARSERDISPINFO* info) {
  auto* s = static_cast<NvdecDecoder*>(self);
  if (!info) return 1;  // the end-of-stream notification: nothing to show
  try {
    return s->handle_display(*info);
  } catch (...) {
    s->callback_error_ = std::current_exception();
    return 0;
  }
}

int NvdecDecoder::handle_sequence(const CUVIDEOFORMAT& f) {
  const CuvidApi& d = device_->cuvid();
  if (f.chroma_format != cudaVideoChromaFormat_420 || f.bit_depth_luma_minus8 > 4)
    throw Error(ErrorKind::Decode,
                std::string("nvidia decode: the stream is ") +
                    (f.chroma_format == cudaVideoChromaFormat_420 ? "4:2:0" : "not 4:2:0") +
                    " at " + std::to_string(8 + f.bit_depth_luma_minus8) +
                    " bits; this adapter decodes 4:2:0 at 8, 10 or 12 bits");
  // Asked once per kind of stream: every file of a many-files loop starts a sequence.
  const auto key =
      std::make_tuple(int(f.codec), int(f.chroma_format), int(f.bit_depth_luma_minus8));
  auto known = caps_.find(key);
  if (known == caps_.end()) {
    CUVIDDECODECAPS asked{};
    asked.eCodecType = f.codec;
    asked.eChromaFormat = f.chroma_format;
    asked.nBitDepthMinus8 = f.bit_depth_luma_minus8;
    check_cuda(ErrorKind::Decode, d.cuvidGetDecoderCaps(&asked), "cuvidGetDecoderCaps",
               "asking for decoder limits");
    known = caps_.emplace(key, asked).first;
  }
  const CUVIDDECODECAPS& caps = known->second;
  if (!caps.bIsSupported)
    throw Error(ErrorKind::Decode, std::string("nvidia decode: this GPU's NVDEC does not decode ") +
                                       to_string(config_.codec) + " " +
                                       std::to_string(8 + f.bit_depth_luma_minus8) + "-bit 4:2:0");
  if (f.coded_width > caps.nMaxWidth || f.coded_height > caps.nMaxHeight ||
      f.coded_width < caps.nMinWidth || f.coded_height < caps.nMinHeight)
    throw Error(ErrorKind::Decode, "nvidia decode: coded size " + std::to_string(f.coded_width) +
                                       "x" + std::to_string(f.coded_height) +
                                       " is outside NVDEC's " + std::to_string(caps.nMinWidth) +
                                       "x" + std::to_string(caps.nMinHeight) + " .. " +
                                       std::to_string(caps.nMaxWidth) + "x" +
                                       std::to_string(caps.nMaxHeight));

  if ((config_.max_width > 0 && int(f.coded_width) > config_.max_width) ||
      (config_.max_height > 0 && int(f.coded_height) > config_.max_height))
    throw Error(ErrorKind::Decode,
                "nvidia decode: the stream's pictures are " + std::to_string(f.coded_width) + "x" +
                    std::to_string(f.coded_height) + ", over the session's limit of " +
                    std::to_string(config_.max_width) + "x" + std::to_string(config_.max_height) +
                    " (CommonDecodeConfig.max_width / max_height)");
  const int surfaces = f.min_num_decode_surfaces + kExtraSurfaces;
  // H.273 code points; 0 is reserved for primaries and transfer, and the identity matrix
  // (0, GBR) cannot describe 4:2:0: the parser leaves 0 where a stream (VP9, a VUI
  // without a colour description) says nothing, which means unspecified (2).
  const auto specified = [](int v) { return v == 0 ? 2 : v; };
  color_.primaries = specified(f.video_signal_description.color_primaries);
  color_.transfer = specified(f.video_signal_description.transfer_characteristics);
  color_.matrix = specified(f.video_signal_description.matrix_coefficients);
  color_.full_range = f.video_signal_description.video_full_range_flag != 0;

  // The deinterlace mode is fixed at creation, so a change of scan is a new decoder too.
  const bool same_kind = decoder_ && f.codec == format_.codec &&
                         f.chroma_format == format_.chroma_format &&
                         f.bit_depth_luma_minus8 == format_.bit_depth_luma_minus8 &&
                         f.progressive_sequence == format_.progressive_sequence;
  const bool fits = static_cast<int>(f.coded_width) <= max_width_ &&
                    static_cast<int>(f.coded_height) <= max_height_ && surfaces <= surfaces_ &&
                    f.display_area.right - f.display_area.left <= output_width_ &&
                    f.display_area.bottom - f.display_area.top <= output_height_;
  // The parser has displayed every picture of the old sequence by now; those still in
  // flight are handed out first, since neither a reconfigure nor a destroy may find a
  // frame mapped.
  const bool changed = f.coded_width != format_.coded_width ||
                       f.coded_height != format_.coded_height ||
                       f.display_area.left != format_.display_area.left ||
                       f.display_area.top != format_.display_area.top ||
                       f.display_area.right != format_.display_area.right ||
                       f.display_area.bottom != format_.display_area.bottom;
  // A size change of this session's stream, not of a stream after an adopted decoder's.
  const bool size_change = decoder_ && changed && !adopted_unused_;
  if (!decoder_) {
    create_decoder(f, surfaces);
  } else if (same_kind && fits) {
    if (changed) {
      in_flight_->complete_all(out_);
      reconfigure_decoder(f, surfaces_);
    }
  } else {
    in_flight_->complete_all(out_);
    destroy_decoder();
    create_decoder(f, surfaces);
  }
  if (size_change) ++stats_.size_changes;
  adopted_unused_ = false;
  return surfaces_;
}

void NvdecDecoder::create_decoder(const CUVIDEOFORMAT& f, int surfaces) {
  const CuvidApi& d = device_->cuvid();
  CUVIDDECODECREATEINFO info{};
  info.CodecType = f.codec;
  info.ChromaFormat = f.chroma_format;
  // 10/12-bit pictures come out as P016: samples in the high bits of 16-bit words.
  info.OutputFormat =
      f.bit_depth_luma_minus8 > 0 ? cudaVideoSurfaceFormat_P016 : cudaVideoSurfaceFormat_NV12;
  info.bitDepthMinus8 = f.bit_depth_luma_minus8;
  info.DeinterlaceMode =
      f.progressive_sequence ? cudaVideoDeinterlaceMode_Weave : cudaVideoDeinterlaceMode_Adaptive;
  // One per frame in flight: each keeps its picture mapped until its copies are done.
  info.ulNumOutputSurfaces = kFramesInFlight;
  info.ulCreationFlags = cudaVideoCreate_PreferCUVID;
  info.ulNumDecodeSurfaces = static_cast<unsigned>(surfaces);
  info.vidLock = device_->lock();
  info.ulWidth = f.coded_width;
  info.ulHeight = f.coded_height;
  info.ulMaxWidth = std::max<unsigned>(f.coded_width, kMinMaxWidth);
  info.ulMaxHeight = std::max<unsigned>(f.coded_height, kMinMaxHeight);
  info.display_area.left = static_cast<short>(f.display_area.left);
  info.display_area.top = static_cast<short>(f.display_area.top);
  info.display_area.right = static_cast<short>(f.display_area.right);
  info.display_area.bottom = static_cast<short>(f.display_area.bottom);
  info.ulTargetWidth = static_cast<unsigned>(f.display_area.right - f.display_area.left);
  info.ulTargetHeight = static_cast<unsigned>(f.display_area.bottom - f.display_area.top);
  info.target_rect.right = static_cast<short>(info.ulTargetWidth);
  info.target_rect.bottom = static_cast<short>(info.ulTargetHeight);
  const int64_t started = monotonic_ns();
  check_cuda(ErrorKind::Decode, d.cuvidCreateDecoder(&decoder_, &info), "cuvidCreateDecoder",
             "creating a " + std::to_string(f.coded_width) + "x" + std::to_string(f.coded_height) +
                 " decoder");
  stats_.decoder_setup_ns += monotonic_ns() - started;
  set_up_for(f, surfaces, static_cast<int>(info.ulMaxWidth), static_cast<int>(info.ulMaxHeight),
             static_cast<int>(info.ulTargetWidth), static_cast<int>(info.ulTargetHeight));
  ++stats_.decoder_opens;
  ++nv_stats_.decoders_created;
}

void NvdecDecoder::adopt_decoder(const ParkedDecoder& parked) {
  decoder_ = parked.decoder;
  set_up_for(parked.format, parked.surfaces, parked.max_width, parked.max_height,
             parked.output_width, parked.output_height);
  adopted_unused_ = true;
  ++stats_.decoder_opens;
  ++nv_stats_.decoders_adopted;
}

void NvdecDecoder::set_up_for(const CUVIDEOFORMAT& f, int surfaces, int max_width, int max_height,
                              int output_width, int output_height) {
  format_ = f;
  surfaces_ = surfaces;
  output_width_ = output_width;
  output_height_ = output_height;
  bytes_per_sample_ = f.bit_depth_luma_minus8 > 0 ? 2 : 1;
  max_width_ = max_width;
  max_height_ = max_height;
  width_ = f.display_area.right - f.display_area.left;
  height_ = f.display_area.bottom - f.display_area.top;
  keyframe_by_surface_.assign(static_cast<size_t>(surfaces), 0);
  pts_by_surface_.assign(static_cast<size_t>(surfaces), std::nullopt);
}

void NvdecDecoder::reconfigure_decoder(const CUVIDEOFORMAT& f, int surfaces) {
  CUVIDRECONFIGUREDECODERINFO info{};
  info.ulWidth = f.coded_width;
  info.ulHeight = f.coded_height;
  info.ulTargetWidth = static_cast<unsigned>(f.display_area.right - f.display_area.left);
  info.ulTargetHeight = static_cast<unsigned>(f.display_area.bottom - f.display_area.top);
  info.ulNumDecodeSurfaces = static_cast<unsigned>(surfaces);
  info.display_area.left = static_cast<short>(f.display_area.left);
  info.display_area.top = static_cast<short>(f.display_area.top);
  info.display_area.right = static_cast<short>(f.display_area.right);
  info.display_area.bottom = static_cast<short>(f.display_area.bottom);
  // A zero target rectangle keeps the previous one: the new picture would be scaled into
  // the old size's rectangle.
  info.target_rect.right = static_cast<short>(info.ulTargetWidth);
  info.target_rect.bottom = static_cast<short>(info.ulTargetHeight);
  const int64_t started = monotonic_ns();
  check_cuda(ErrorKind::Decode, device_->cuvid().cuvidReconfigureDecoder(decoder_, &info),
             "cuvidReconfigureDecoder",
             "resizing the decoder to " + std::to_string(f.coded_width) + "x" +
                 std::to_string(f.coded_height));
  stats_.decoder_setup_ns += monotonic_ns() - started;
  format_ = f;
  width_ = static_cast<int>(info.ulTargetWidth);
  height_ = static_cast<int>(info.ulTargetHeight);
  ++nv_stats_.reconfigures;
}

void NvdecDecoder::destroy_decoder() {
  if (!decoder_) return;
  device_->cuvid().cuvidDestroyDecoder(decoder_);
  decoder_ = nullptr;
}

void NvdecDecoder::park_or_destroy_decoder(bool ended_clean) {
  if (!decoder_) return;
  if (ended_clean) {
    try {
      NvdecDecoderCache::get().park(ParkedDecoder{device_, decoder_, format_, surfaces_, max_width_,
                                                  max_height_, output_width_, output_height_});
      decoder_ = nullptr;
      return;
    } catch (...) {  // out of memory for the cache's entry: destroyed below instead
    }
  }
  ContextScope scope(device_->context(), std::nothrow);
  destroy_decoder();
}

int NvdecDecoder::handle_decode(CUVIDPICPARAMS& picture) {
  if (!decoder_) return 0;
  const int index = picture.CurrPicIdx;
  if (index >= 0 && static_cast<size_t>(index) < keyframe_by_surface_.size())
    keyframe_by_surface_[index] = config_.codec == Codec::HEVC
                                      ? picture.CodecSpecific.hevc.IrapPicFlag != 0
                                      : h264_idr(picture);
  std::optional<int64_t> pts;
  if (!pending_pts_.empty()) {
    pts = pending_pts_.front();
    pending_pts_.pop_front();
  }
  if (index >= 0 && static_cast<size_t>(index) < pts_by_surface_.size())
    pts_by_surface_[index] = pts;
  // The parser reuses a surface once its picture was displayed, but a frame in flight may
  // still be reading it.
  in_flight_->release_picture(index, out_);
  ++stats_.access_units;
  const CUresult r = device_->cuvid().cuvidDecodePicture(decoder_, &picture);
  if (r != CUDA_SUCCESS) {
    ++stats_.decode_errors;
    check_cuda(ErrorKind::Decode, r, "cuvidDecodePicture",
               "decoding picture " + std::to_string(index));
  }
  return 1;
}

int NvdecDecoder::handle_display(const CUVIDPARSERDISPINFO& info) {
  DecodedFrame frame;
  frame.width = width_;
  frame.height = height_;
  frame.color = color_;
  frame.output = config_.output;
  const int index = info.picture_index;
  if (index >= 0 && static_cast<size_t>(index) < pts_by_surface_.size())
    frame.pts = pts_by_surface_[index];
  if (index >= 0 && static_cast<size_t>(index) < keyframe_by_surface_.size())
    frame.is_keyframe = keyframe_by_surface_[index] != 0;
  const bool skipped =
      discard_all_ || (frame.pts && !skip_tags_.empty() && skip_tags_.erase(*frame.pts) > 0);
  if (skipped) {
    ++stats_.frames_decoded;
    ++stats_.frames_skipped;
    return 1;
  }

  frame.damaged = picture_damaged(index);
  const bool damaged = frame.damaged;
  if (config_.output == DecodeOutputMode::MetadataOnly) {
    if (out_) out_->push_back(std::move(frame));
  } else {
    map_and_queue(info, std::move(frame));
  }
  if (damaged) ++stats_.damaged_frames;
  ++stats_.frames_decoded;
  return 1;
}

bool NvdecDecoder::picture_damaged(int index) {
  // The parser may display a picture the engine is still decoding (an adopted decoder's
  // session runs with no start-up gap): its status then says InProgress, not whether it is
  // damaged.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  for (;;) {
    CUVIDGETDECODESTATUS status{};
    if (device_->cuvid().cuvidGetDecodeStatus(decoder_, index, &status) != CUDA_SUCCESS)
      return false;
    if (status.decodeStatus != cuvidDecodeStatus_InProgress)
      return status.decodeStatus == cuvidDecodeStatus_Error ||
             status.decodeStatus == cuvidDecodeStatus_Error_Concealed;
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

void NvdecDecoder::map_and_queue(const CUVIDPARSERDISPINFO& info, DecodedFrame frame) {
  // Every output surface is held by a frame in flight: the oldest frees one.
  if (in_flight_->full()) {
    const int64_t start = monotonic_ns();
    in_flight_->complete_oldest(out_);
    count_conversion(start);
  }
  CUVIDPROCPARAMS proc{};
  proc.progressive_frame = info.progressive_frame;
  proc.top_field_first = info.top_field_first;
  proc.second_field = 0;
  proc.unpaired_field = info.repeat_first_field < 0;
  // The map's own work runs on the stream the copies are queued on, so they follow it.
  proc.output_stream = device_->stream();
  unsigned long long surface = 0;
  unsigned int pitch = 0;
  check_cuda(
      ErrorKind::Decode,
      device_->cuvid().cuvidMapVideoFrame(decoder_, info.picture_index, &surface, &pitch, &proc),
      "cuvidMapVideoFrame", "mapping decoded picture " + std::to_string(info.picture_index));
  ++nv_stats_.frames_mapped;
  std::shared_ptr<DeviceBuffer> keep;
  try {
    keep = queue_output(surface, pitch, frame);
  } catch (...) {
    in_flight_->abandon(decoder_, surface);
    throw;
  }
  in_flight_->add(decoder_, info.picture_index, surface, std::move(frame), std::move(keep));
}

std::shared_ptr<DeviceBuffer> NvdecDecoder::queue_output(unsigned long long surface, unsigned pitch,
                                                         DecodedFrame& frame) {
  const CUdeviceptr luma = surface;
  // The chroma plane follows the luma rows of the (even-rounded) target height.
  const CUdeviceptr chroma = surface + static_cast<CUdeviceptr>(pitch) * ((height_ + 1) & ~1);
  if (config_.output != DecodeOutputMode::CpuRgb) {
    queue_surface_copy(luma, chroma, pitch, frame);
    return nullptr;  // the frame's own buffer is all the copies touch
  }
  const int64_t start = monotonic_ns();
  std::shared_ptr<DeviceBuffer> staging =
      rgb_->enqueue(luma, static_cast<int>(pitch), chroma, static_cast<int>(pitch), width_, height_,
                    bytes_per_sample_, frame);
  count_conversion(start);
  return staging;
}

void NvdecDecoder::queue_surface_copy(CUdeviceptr luma, CUdeviceptr chroma, unsigned pitch,
                                      DecodedFrame& frame) {
  const CudaDriver& d = device_->cuda();
  const int chroma_rows = (height_ + 1) / 2;
  const int bps = bytes_per_sample_;
  const int row_bytes = ((width_ + 1) & ~1) * bps;  // the UV row holds ceil(W/2) pairs
  const size_t luma_bytes = static_cast<size_t>(row_bytes) * height_;
  const size_t bytes = luma_bytes + static_cast<size_t>(row_bytes) * chroma_rows;
  std::shared_ptr<DeviceBuffer> buffer = pool_->acquire(bytes);

  CUDA_MEMCPY2D copy{};
  copy.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  copy.srcDevice = luma;
  copy.srcPitch = pitch;
  copy.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  copy.dstDevice = buffer->ptr;
  copy.dstPitch = static_cast<size_t>(row_bytes);
  copy.WidthInBytes = static_cast<size_t>(width_) * bps;
  copy.Height = static_cast<size_t>(height_);
  check_cuda(ErrorKind::Decode, d.cuMemcpy2DAsync(&copy, device_->stream()), "cuMemcpy2DAsync",
             "copying the Y plane");
  copy.srcDevice = chroma;
  copy.dstDevice = buffer->ptr + luma_bytes;
  copy.WidthInBytes = static_cast<size_t>(row_bytes);
  copy.Height = static_cast<size_t>(chroma_rows);
  check_cuda(ErrorKind::Decode, d.cuMemcpy2DAsync(&copy, device_->stream()), "cuMemcpy2DAsync",
             "copying the UV plane");

  auto* base = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(buffer->ptr));
  frame.pixel_format = bps == 1 ? "nv12" : (format_.bit_depth_luma_minus8 == 2 ? "p010" : "p016");
  frame.bytes_per_sample = bps;
  frame.planes = {SurfacePlane{base, row_bytes, width_ * bps, height_},
                  SurfacePlane{base + luma_bytes, row_bytes, row_bytes, chroma_rows}};
  frame.owner = buffer;
  frame.on_device = true;
  frame.device_id = device_->ordinal();
}

void NvdecDecoder::count_conversion(int64_t since) {
  // CPU_RGB's conversion time: what the parser's thread spends queueing it and waiting for it.
  if (config_.output == DecodeOutputMode::CpuRgb) stats_.convert_ns += monotonic_ns() - since;
}

std::exception_ptr NvdecDecoder::drain_in_flight(std::vector<DecodedFrame>* out) {
  const int64_t start = monotonic_ns();
  std::exception_ptr error;
  try {
    in_flight_->complete_all(out);
  } catch (...) {
    error = std::current_exception();
  }
  count_conversion(start);
  return error;
}

void NvdecDecoder::parse(const uint8_t* data, size_t size, unsigned long flags, int64_t timestamp,
                         std::vector<DecodedFrame>& out) {
  CUVIDSOURCEDATAPACKET packet{};
  packet.flags = flags;
  packet.payload_size = size;
  packet.payload = data;
  packet.timestamp = timestamp;
  out_ = &out;
  callback_error_ = nullptr;
  const int64_t start = monotonic_ns();
  const int64_t convert_before = stats_.convert_ns;
  CUresult r;
  std::exception_ptr drain_error;
  {
    ContextScope scope(device_->context(), ErrorKind::Decode);
    r = device_->cuvid().cuvidParseVideoData(parser_, &packet);
    // A call's frames are handed out by that call, also when it fails: nothing stays in
    // flight (or mapped) past it.
    drain_error = drain_in_flight(&out);
  }
  stats_.decode_ns += (monotonic_ns() - start) - (stats_.convert_ns - convert_before);
  out_ = nullptr;
  // A callback's error first: a failed wait in the drain is most likely its consequence.
  if (callback_error_) {
    std::exception_ptr error = callback_error_;
    callback_error_ = nullptr;
    std::rethrow_exception(error);
  }
  if (drain_error) std::rethrow_exception(drain_error);
  if (r != CUDA_SUCCESS) {
    ++stats_.decode_errors;
    check_cuda(ErrorKind::Decode, r, "cuvidParseVideoData",
               "parsing " + std::to_string(size) + " bytes of " + to_string(config_.codec));
  }
}

void NvdecDecoder::decode(const uint8_t* data, size_t size, std::optional<int64_t> pts,
                          std::vector<DecodedFrame>& out) {
  if (size == 0) return;
  stats_.bytes_in += static_cast<int64_t>(size);
  unsigned long flags = 0;
  const int64_t timestamp = 0;
  if (pts) {
    pending_pts_.push_back(*pts);
    // pts of pushes that held no picture (garbage) must not pile up.
    while (pending_pts_.size() > kMaxPendingPts) pending_pts_.pop_front();
  }
  if (config_.low_latency && is_single_access_unit(data, size, config_.codec))
    flags |= CUVID_PKT_ENDOFPICTURE;
  pushed_since_flush_ = true;
  parse(data, size, flags, timestamp, out);
}

void NvdecDecoder::decode_unit(const DecodeUnit& unit, std::vector<DecodedFrame>& out) {
  if (unit.size == 0) return;
  stats_.bytes_in += static_cast<int64_t>(unit.size);
  pending_pts_.push_back(unit.tag);
  while (pending_pts_.size() > kMaxPendingPts) pending_pts_.pop_front();
  if (unit.skip_output) {
    if (skip_tags_.size() >= kMaxSkipTags) skip_tags_.clear();
    skip_tags_.insert(unit.tag);
  }
  pushed_since_flush_ = true;
  // A whole picture: the parser decodes it now instead of waiting for the next start code.
  parse(unit.data, unit.size, CUVID_PKT_ENDOFPICTURE, 0, out);
}

void NvdecDecoder::reset(bool new_stream) {
  // The parser reports every new sequence in full (colour included) through the sequence
  // callback, so a new stream needs nothing beyond a seek's reset.
  (void)new_stream;
  ++stats_.resets;
  if (pushed_since_flush_) {
    std::vector<DecodedFrame> discarded;
    discard_all_ = true;
    try {
      flush(discarded);
    } catch (...) {
      discard_all_ = false;
      throw;
    }
    discard_all_ = false;
  }
  pending_pts_.clear();
  skip_tags_.clear();
}

void NvdecDecoder::flush(std::vector<DecodedFrame>& out) {
  if (!pushed_since_flush_) return;
  pushed_since_flush_ = false;
  parse(nullptr, 0, CUVID_PKT_ENDOFSTREAM | CUVID_PKT_NOTIFY_EOS, 0, out);
  pending_pts_.clear();
  skip_tags_.clear();
}

void NvdecDecoder::reconfigure(const CommonDecodeConfig& to) {
  if (to.codec != config_.codec)
    throw Error(ErrorKind::Switch,
                std::string("nvidia decode: the codec cannot change in place (") +
                    to_string(config_.codec) + " -> " + to_string(to.codec) +
                    "); a new session is needed");
  const bool parser_params_change =
      to.low_latency != config_.low_latency || to.max_display_delay != config_.max_display_delay;
  CommonDecodeConfig previous = config_;
  config_ = to;
  try {
    ensure_output_resources();
  } catch (...) {
    config_ = previous;
    throw;
  }
  if (parser_params_change) {
    // The display delay is fixed at parser creation; the decoder survives (the next sequence
    // header finds it fitting and keeps it).
    {
      ContextScope scope(device_->context(), ErrorKind::Decode);
      device_->cuvid().cuvidDestroyVideoParser(parser_);
    }
    parser_ = nullptr;
    create_parser();
  }
}

DecodeStats NvdecDecoder::stats() const {
  DecodeStats s = stats_;
  if (pool_) s.pool_allocations += pool_->stats().allocations;
  if (rgb_)
    s.pool_allocations +=
        rgb_->host_pool_stats().allocations + rgb_->staging_pool_stats().allocations;
  return s;
}

NvdecSessionStats NvdecDecoder::nvdec_stats() const {
  NvdecSessionStats s = nv_stats_;
  s.decode_surfaces = surfaces_;
  s.max_width = max_width_;
  s.max_height = max_height_;
  if (pool_) s.pool = pool_->stats();
  if (rgb_) s.rgb_pool = rgb_->host_pool_stats();
  return s;
}

}  // namespace videohw::nv_session
