// The NVENC adapter: one NVENC encoder session behind videohw::EncoderBackend.
//
// Owns, in drop order (the destructor stops the reap thread; members then go bottom-up):
//   reap thread  -> joined first, after every lockable output was locked and unlocked
//   slots_       -> input and bitstream buffers, destroyed before the encoder
//   handle_      -> the encoder; an end of stream is sent first when one is owed
//   context_     -> the device's primary context, shared with every NVIDIA session and
//                   kept for the process (cuda/context.hpp)
// finish() is the orderly path (EOS -> drain -> packets out); the destructor only repeats
// what finish() did not get to (a failed activation, an exception).
//
// Buffers are created once, max_in_flight_outputs of each, and survive every flush. Slots
// are used round robin: NVENC completes outputs in submission order, so the next slot is
// always the oldest one and is free once its bitstream was unlocked.
//
// Threads: encode() / flush() / finish() / reconfigure() come from one thread (the
// pipeline's encode stage) and submit pictures (sync mode). The reap thread locks each
// bitstream that became lockable, copies it out and frees the slot. mu_ guards the slot
// states and the queues between them; no driver call is made with mu_ held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backend/encoder_backend.hpp"
#include "nv_session/cuda/context.hpp"
#include "nv_session/nvenc/nvenc_buffers.hpp"
#include "nv_session/nvenc/nvenc_caps.hpp"
#include "nv_session/nvenc/nvenc_device_input.hpp"
#include "nv_session/nvenc/nvenc_handle.hpp"

namespace videohw::nv_session {

class NvencEncoder final : public EncoderBackend {
 public:
  // Opens the encoder on nvidia.device and creates its buffers. Throws
  // Error(BackendUnavailable) when the device cannot encode, Error(Encode) when the driver
  // refuses the configuration or a buffer.
  NvencEncoder(const CommonEncodeConfig& common, const NvidiaEncodeConfig& nvidia,
               const NvencCodecCaps& caps);
  ~NvencEncoder() override;

  const char* name() const override { return "nvidia"; }
  void encode(const FrameView& frame, const FrameOptions& options,
              std::vector<EncodedPacket>& out) override;
  FlushResult flush(std::vector<EncodedPacket>& out) override;
  void finish(std::vector<EncodedPacket>& out) override;
  EncodeStats stats() const override { return stats_; }
  void reconfigure(const CommonEncodeConfig& to) override;
  void restart(const CommonEncodeConfig& to, std::vector<EncodedPacket>& out) override;
  void set_packet_pool(ring::PacketPool* pool) override { packet_pool_ = pool; }

  // The size the session was initialised for (maxEncodeWidth/Height).
  EncodeSize max_size() const { return max_size_; }

 private:
  enum class SlotState { Free, Pending, Lockable };
  struct Slot {
    std::unique_ptr<InputBuffer> input;
    std::unique_ptr<DeviceInput> device_input;  // made on the slot's first device frame
    std::unique_ptr<BitstreamBuffer> output;
    SlotState state = SlotState::Free;
  };

  void require_prepared(const FrameView& frame) const;
  void submit(const FrameView& view, int64_t pts, bool force_idr);
  void end_of_stream();
  bool stream_must_end();
  void wait_drained();
  void take_ready(std::vector<EncodedPacket>& out);
  void throw_if_reap_failed();  // mu_ held
  void reap_loop();
  void reap_one(size_t slot);
  std::vector<std::unique_ptr<InputBuffer>> make_inputs(int width, int height) const;

  void apply(const CommonEncodeConfig& to, bool new_stream);
  CommonEncodeConfig common_;  // encode thread only; reconfigure() replaces it
  const Codec codec_;          // what the reap thread reads: fixed for the session
  const int b_frames_;
  const NvidiaEncodeConfig nvidia_;
  const NvencCodecCaps caps_;
  EncodeSize max_size_;
  NV_ENC_CONFIG preset_config_{};

  const PrimaryContext& context_;
  NvencHandle handle_;
  std::vector<Slot> slots_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<size_t> pending_;   // submitted, output not yet lockable (held by the encoder)
  std::deque<size_t> lockable_;  // for the reap thread, in submission order
  std::deque<EncodedPacket> ready_;
  std::multiset<int64_t> unreleased_pts_;  // pts whose dts slot is not used yet
  int64_t outputs_ = 0;
  std::string reap_error_;
  bool stop_ = false;

  size_t next_slot_ = 0;
  uint32_t frame_index_ = 0;
  bool idr_pending_ = false;
  bool finished_ = false;
  EncodeStats stats_;
  ring::PacketPool* packet_pool_ = nullptr;

  std::thread reaper_;  // last: started once everything it touches exists
};

}  // namespace videohw::nv_session
