#include "nv_session/nvenc/nvenc_encoder.hpp"

#include "contract/clock.hpp"

#include <chrono>

#include "bitstream/annexb.hpp"
#include "contract/errors.hpp"

namespace videohw::nv_session {

NvencEncoder::NvencEncoder(const CommonEncodeConfig& common, const NvidiaEncodeConfig& nvidia,
                           const NvencCodecCaps& caps)
    : common_(common),
      codec_(common.codec),
      b_frames_(common.b_frames),
      nvidia_(nvidia),
      caps_(caps),
      max_size_(max_encode_size(common.width, common.height,
                                EncodeSize{caps.caps.max_width, caps.caps.max_height})),
      context_(PrimaryContext::of(nvidia.device, "NvidiaEncodeConfig.device")),
      handle_(load_nvenc_api(), context_) {
  if (caps_.input_format == NV_ENC_BUFFER_FORMAT_UNDEFINED)
    throw Error(ErrorKind::UnsupportedConfig,
                std::string("codec: ") + to_string(common.codec) +
                    " cannot be encoded by this GPU's NVENC (no IYUV or NV12 input)");
  const GUID codec = codec_guid(common.codec);
  const NV_ENC_TUNING_INFO tuning = tuning_info(nvidia.tuning, common.low_latency);
  auto preset = std::make_unique<NV_ENC_PRESET_CONFIG>();
  preset->version = NV_ENC_PRESET_CONFIG_VER;
  preset->presetCfg.version = NV_ENC_CONFIG_VER;
  handle_.check(handle_.fn().nvEncGetEncodePresetConfigEx(
                    handle_.get(), codec, preset_guid(nvidia.preset), tuning, preset.get()),
                "nvEncGetEncodePresetConfigEx");
  preset_config_ = preset->presetCfg;

  NvencSettings settings;
  map_settings(common_, nvidia_, preset_config_, caps_.input_format, max_size_, settings);
  {
    ContextScope scope(context_, ErrorKind::BackendUnavailable);
    handle_.initialize(settings);
  }
  stats_.encoder_opens = 1;
  auto inputs = make_inputs(common_.width, common_.height);
  slots_.resize(inputs.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].input = std::move(inputs[i]);
    slots_[i].output = std::make_unique<BitstreamBuffer>(handle_);
  }
  idr_pending_ = common_.force_idr;
  reaper_ = std::thread([this] { reap_loop(); });
}

NvencEncoder::~NvencEncoder() {
  if (!finished_) {
    try {
      if (handle_.eos_owed()) end_of_stream();
      wait_drained();
    } catch (...) {
      // Tearing down regardless; the buffers and the encoder are still released below.
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

std::vector<std::unique_ptr<InputBuffer>> NvencEncoder::make_inputs(int width, int height) const {
  std::vector<std::unique_ptr<InputBuffer>> inputs;
  for (int i = 0; i < nvidia_.max_in_flight_outputs; ++i)
    inputs.push_back(std::make_unique<InputBuffer>(handle_, width, height, caps_.input_format));
  return inputs;
}

// The input buffer takes I420 or NV12 (its copy lays either out as the buffer's format) of
// the encoder's size, and the pipeline prepares every frame to be that.
void NvencEncoder::require_prepared(const FrameView& frame) const {
  const bool copyable = frame.format == PixelFormat::I420 || frame.format == PixelFormat::NV12;
  if (copyable && frame.width == common_.width && frame.height == common_.height) return;
  const std::string got = std::string(to_string(frame.format)) + " " + std::to_string(frame.width) +
                          "x" + std::to_string(frame.height);
  const std::string takes =
      "I420 or NV12 " + std::to_string(common_.width) + "x" + std::to_string(common_.height);
  throw Error(ErrorKind::Encode, "internal: frame not prepared for NVENC (got " + got +
                                     ", the encoder takes " + takes +
                                     "); the pipeline prepares every frame, so this is a "
                                     "videohw bug");
}

void NvencEncoder::encode(const FrameView& frame, const FrameOptions& options,
                          std::vector<EncodedPacket>& out) {
  if (finished_)
    throw Error(ErrorKind::SessionClosed, "the NVENC encoder has reached end of stream");
  const int64_t start = monotonic_ns();
  require_prepared(frame);
  submit(frame, options.pts.value_or(int64_t(frame_index_)),
         options.force_keyframe || idr_pending_);
  idr_pending_ = false;
  stats_.frames_encoded++;
  take_ready(out);
  stats_.encode_ns += monotonic_ns() - start;
}

void NvencEncoder::submit(const FrameView& view, int64_t pts, bool force_idr) {
  const size_t slot = next_slot_;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock,
             [&] { return slots_[slot].state != SlotState::Lockable || !reap_error_.empty(); });
    throw_if_reap_failed();
    if (slots_[slot].state == SlotState::Pending)
      throw Error(ErrorKind::Encode,
                  "NVENC holds all " + std::to_string(slots_.size()) +
                      " input buffers without output; NvidiaEncodeConfig.max_in_flight_outputs "
                      "must exceed b_frames");
  }
  // A free slot is touched by this thread only: no lock while copying.
  Slot& s = slots_[slot];
  uint32_t pitch = 0;
  NV_ENC_INPUT_PTR input = nullptr;
  NV_ENC_BUFFER_FORMAT input_format = caps_.input_format;
  if (view.memory == FrameMemory::CudaDevice) {
    // Device to device into the slot's registered input; the host is never touched.
    if (!s.device_input || !s.device_input->holds(view.width, view.height, view.format)) {
      s.device_input.reset();
      s.device_input =
          std::make_unique<DeviceInput>(handle_, context_, view.width, view.height, view.format);
    }
    input = s.device_input->write_and_map(view);
    pitch = s.device_input->pitch();
    input_format = s.device_input->mapped_format();
    stats_.device_input_frames++;
  } else {
    pitch = s.input->write(view);
    input = s.input->get();
  }

  NV_ENC_PIC_PARAMS pic{};
  pic.version = NV_ENC_PIC_PARAMS_VER;
  pic.inputWidth = uint32_t(common_.width);
  pic.inputHeight = uint32_t(common_.height);
  pic.inputPitch = pitch;
  pic.encodePicFlags = force_idr ? (NV_ENC_PIC_FLAG_FORCEIDR | NV_ENC_PIC_FLAG_OUTPUT_SPSPPS) : 0;
  pic.frameIdx = frame_index_;
  pic.inputTimeStamp = uint64_t(pts);
  pic.inputBuffer = input;
  pic.outputBitstream = s.output->get();
  pic.bufferFmt = input_format;
  pic.pictureStruct = NV_ENC_PIC_STRUCT_FRAME;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.state = SlotState::Pending;
    pending_.push_back(slot);
    unreleased_pts_.insert(pts);
  }
  const NVENCSTATUS status = handle_.fn().nvEncEncodePicture(handle_.get(), &pic);
  if (status == NV_ENC_SUCCESS || status == NV_ENC_ERR_NEED_MORE_INPUT) handle_.note_picture();
  if (status != NV_ENC_SUCCESS && status != NV_ENC_ERR_NEED_MORE_INPUT) {
    // The picture was not taken: the slot is free again and nothing waits for its output.
    if (s.device_input) s.device_input->unmap();
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.pop_back();
      s.state = SlotState::Free;
      unreleased_pts_.erase(unreleased_pts_.find(pts));
    }
    handle_.check(status, "nvEncEncodePicture");
  }
  frame_index_++;
  next_slot_ = (slot + 1) % slots_.size();
  if (status == NV_ENC_SUCCESS) {
    // Sync mode: after a success every output submitted so far can be locked, in order.
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t pending : pending_) slots_[pending].state = SlotState::Lockable;
      lockable_.insert(lockable_.end(), pending_.begin(), pending_.end());
      pending_.clear();
    }
    cv_.notify_all();
  }
}

void NvencEncoder::end_of_stream() {
  handle_.end_of_stream();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t pending : pending_) slots_[pending].state = SlotState::Lockable;
    lockable_.insert(lockable_.end(), pending_.begin(), pending_.end());
    pending_.clear();
  }
  cv_.notify_all();
}

// Whether draining needs an end of stream: pictures held (NEED_MORE_INPUT), or a B-frame
// encoder with pictures since the last EOS. A reordering encoder may finish the last
// released picture only once it sees what follows; EOS is the one signal that nothing does.
bool NvencEncoder::stream_must_end() {
  std::lock_guard<std::mutex> lock(mu_);
  return !pending_.empty() || (b_frames_ > 0 && handle_.eos_owed());
}

void NvencEncoder::wait_drained() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return lockable_.empty() || !reap_error_.empty(); });
  throw_if_reap_failed();
}

void NvencEncoder::throw_if_reap_failed() {
  if (!reap_error_.empty()) throw Error(ErrorKind::Encode, reap_error_);
}

void NvencEncoder::take_ready(std::vector<EncodedPacket>& out) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!ready_.empty()) {
    out.push_back(std::move(ready_.front()));
    ready_.pop_front();
  }
  throw_if_reap_failed();
}

FlushResult NvencEncoder::flush(std::vector<EncodedPacket>& out) {
  if (finished_)
    throw Error(ErrorKind::SessionClosed, "the NVENC encoder has reached end of stream");
  const size_t before = out.size();
  FlushResult result;
  if (stream_must_end()) {
    // Frames held back for B-frames come out only at end of stream. NVENC keeps the session
    // and its buffers; the stream restarts with an IDR.
    end_of_stream();
    stats_.stream_restarts++;
    result.restarted_stream = true;
    idr_pending_ = true;
  } else {
    stats_.in_place_flushes++;
  }
  wait_drained();
  take_ready(out);
  if (common_.force_idr) idr_pending_ = true;
  result.packets = int64_t(out.size() - before);
  return result;
}

void NvencEncoder::finish(std::vector<EncodedPacket>& out) {
  if (finished_) return;
  finished_ = true;  // even when draining fails: the destructor must not send a second EOS
  if (handle_.eos_owed()) end_of_stream();
  wait_drained();
  take_ready(out);
}

void NvencEncoder::reconfigure(const CommonEncodeConfig& to) {
  apply(to, false);
}

// Held frames come out now (end of stream first) and reach the caller with the next
// encode(), as with a resize.
void NvencEncoder::restart(const CommonEncodeConfig& to, std::vector<EncodedPacket>& out) {
  (void)out;
  apply(to, true);
}

void NvencEncoder::apply(const CommonEncodeConfig& to, bool new_stream) {
  if (finished_)
    throw Error(ErrorKind::SessionClosed, "the NVENC encoder has reached end of stream");
  if (!can_reconfigure(common_, to, max_size_, caps_.ability))
    throw Error(ErrorKind::Switch,
                "NVENC cannot take this change in place (codec, GOP, "
                "B-frames, or a size beyond " +
                    std::to_string(max_size_.width) + "x" + std::to_string(max_size_.height) + ")");
  const bool resize = to.width != common_.width || to.height != common_.height;
  std::vector<std::unique_ptr<InputBuffer>> inputs;
  if (resize || new_stream) {
    // The encoder must let go of every input before the buffers change size; held frames
    // come out now and reach the caller with the next encode().
    if (stream_must_end()) end_of_stream();
    wait_drained();
    if (resize) inputs = make_inputs(to.width, to.height);  // a failure changes nothing
  }
  NvencSettings settings;
  map_settings(to, nvidia_, preset_config_, caps_.input_format, max_size_, settings);
  NV_ENC_RECONFIGURE_PARAMS params{};
  params.version = NV_ENC_RECONFIGURE_PARAMS_VER;
  params.reInitEncodeParams = *settings.params();
  // resetEncoder "should be used only with an IDR frame" (nvEncodeAPI.h): always paired.
  params.resetEncoder = new_stream || resize || to.rate_control.mode != common_.rate_control.mode;
  params.forceIDR = params.resetEncoder;
  handle_.check(handle_.fn().nvEncReconfigureEncoder(handle_.get(), &params),
                "nvEncReconfigureEncoder");
  if (resize)
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].input = std::move(inputs[i]);
  common_ = to;
}

// ---- reap thread ------------------------------------------------------------------------

void NvencEncoder::reap_loop() {
  for (;;) {
    size_t slot;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !lockable_.empty(); });
      if (lockable_.empty()) return;  // stopping, and nothing left to unlock
      slot = lockable_.front();       // popped only once unlocked: wait_drained counts it
    }
    reap_one(slot);
  }
}

void NvencEncoder::reap_one(size_t slot) {
  NV_ENC_LOCK_BITSTREAM lock_params{};
  lock_params.version = NV_ENC_LOCK_BITSTREAM_VER;
  lock_params.outputBitstream = slots_[slot].output->get();
  const auto& fn = handle_.fn();
  EncodedPacket packet;
  std::string error;
  const NVENCSTATUS status = fn.nvEncLockBitstream(handle_.get(), &lock_params);
  if (status == NV_ENC_SUCCESS) {
    const auto* data = static_cast<const uint8_t*>(lock_params.bitstreamBufferPtr);
    const size_t size = lock_params.bitstreamSizeInBytes;
    if (packet_pool_) packet.data = packet_pool_->take();
    packet.data.assign(data, data + size);
    packet.pts = int64_t(lock_params.outputTimeStamp);
    // The lock reports the picture type; an I picture counts when it is a random-access
    // point in the stream itself (HEVC CRA), as for the software backend.
    packet.is_keyframe = lock_params.pictureType == NV_ENC_PIC_TYPE_IDR ||
                         (lock_params.pictureType == NV_ENC_PIC_TYPE_I &&
                          bitstream::contains_random_access_picture(data, size, codec_));
    packet.layout = EncodedLayout::AnnexB;
    const NVENCSTATUS unlock = fn.nvEncUnlockBitstream(handle_.get(), lock_params.outputBitstream);
    if (unlock != NV_ENC_SUCCESS)
      error = std::string("nvEncUnlockBitstream failed: ") + nvenc_status_name(unlock);
  } else {
    error = std::string("nvEncLockBitstream failed: ") + nvenc_status_name(status);
  }
  // The picture is encoded (or its encoder failed): NVENC no longer reads its input. The
  // encode thread leaves a Lockable slot alone, so this thread may touch its input here.
  if (slots_[slot].device_input) {
    const NVENCSTATUS unmap = slots_[slot].device_input->unmap();
    if (unmap != NV_ENC_SUCCESS && error.empty())
      error = std::string("nvEncUnmapInputResource failed: ") + nvenc_status_name(unmap);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    lockable_.pop_front();
    slots_[slot].state = SlotState::Free;
    if (error.empty()) {
      // dts: the (i - b)-th smallest pts for the i-th output, b = B-frames (the deepest
      // reorder); the first b outputs step back from the smallest. Monotonic, <= pts.
      const int64_t b = b_frames_;
      if (outputs_ < b) {
        packet.dts = *unreleased_pts_.begin() - (b - outputs_);
      } else {
        packet.dts = *unreleased_pts_.begin();
        unreleased_pts_.erase(unreleased_pts_.begin());
      }
      outputs_++;
      ready_.push_back(std::move(packet));
    } else if (reap_error_.empty()) {
      reap_error_ = error;
    }
  }
  cv_.notify_all();
}

}  // namespace videohw::nv_session
