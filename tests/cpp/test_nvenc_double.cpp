// The NVENC driver double, driven through NVIDIA's raw API exactly as an adapter would:
// dlopen of the built libraries, NvEncodeAPICreateInstance, the function list. Output is
// checked with libavcodec's own decoders (support/decoder.*).
#include <dlfcn.h>
#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/nvEncodeAPI.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nvenc_double_control.h"
#include "support/decoder.hpp"

namespace {

using videohw::Codec;
using videohw::EncodedPacket;

template <typename T>
T symbol(void* lib, const char* name) {
  void* p = dlsym(lib, name);
  if (!p) throw std::runtime_error(std::string("missing symbol ") + name);
  return reinterpret_cast<T>(p);
}

struct Output {
  EncodedPacket packet;
  NV_ENC_PIC_TYPE type = NV_ENC_PIC_TYPE_UNKNOWN;
  uint32_t frame_idx = 0;
};

struct Config {
  Codec codec = Codec::H264;
  int width = 64, height = 48;
  uint32_t gop = NVENC_INFINITE_GOPLENGTH;
  int frame_interval_p = 1;
  NV_ENC_PARAMS_RC_MODE rc = NV_ENC_PARAMS_RC_CBR;
  uint32_t bitrate = 500'000;
  int max_width = 0, max_height = 0;
};

class NvencDouble : public ::testing::Test {
 protected:
  void SetUp() override {
    cuda_ = dlopen(VIDEOHW_CUDA_DOUBLE_PATH, RTLD_NOW | RTLD_GLOBAL);
    nvenc_ = dlopen(VIDEOHW_NVENC_DOUBLE_PATH, RTLD_NOW);
    ASSERT_NE(cuda_, nullptr) << dlerror();
    ASSERT_NE(nvenc_, nullptr) << dlerror();
    symbol<void (*)()>(cuda_, "videohw_cuda_double_reset")();
    reset_nvenc();
    ASSERT_EQ(symbol<tcuInit*>(cuda_, "cuInit")(0), CUDA_SUCCESS);
    ASSERT_EQ(symbol<tcuCtxCreate_v2*>(cuda_, "cuCtxCreate_v2")(&context_, 0, 0), CUDA_SUCCESS);
    ASSERT_EQ(create_instance(), NV_ENC_SUCCESS);
  }

  void TearDown() override {
    for (const char* name : {"VIDEOHW_NVENC_DOUBLE_FAULTS", "VIDEOHW_NVENC_DOUBLE_NO_ENCODE_DEVICE",
                             "VIDEOHW_NVENC_DOUBLE_MAX_VERSION", "VIDEOHW_NVENC_DOUBLE_CAPS",
                             "VIDEOHW_CUDA_DOUBLE_DEVICES", "VIDEOHW_CUDA_DOUBLE_FAULTS"})
      unsetenv(name);
    reset_nvenc();
    if (nvenc_) dlclose(nvenc_);
    if (cuda_) dlclose(cuda_);
  }

  void reset_nvenc() { symbol<void (*)()>(nvenc_, "videohw_nvenc_double_reset")(); }
  NVENCSTATUS create_instance() {
    api_ = {};
    api_.version = NV_ENCODE_API_FUNCTION_LIST_VER;
    return symbol<NVENCSTATUS (*)(NV_ENCODE_API_FUNCTION_LIST*)>(
        nvenc_, "NvEncodeAPICreateInstance")(&api_);
  }
  std::string violations() {
    return symbol<const char* (*)()>(nvenc_, "videohw_nvenc_double_violations")();
  }
  std::string call_log() {
    return symbol<const char* (*)()>(nvenc_, "videohw_nvenc_double_call_log")();
  }
  int open_sessions() { return symbol<int (*)()>(nvenc_, "videohw_nvenc_double_open_sessions")(); }
  int set_faults(const char* f) {
    return symbol<int (*)(const char*)>(nvenc_, "videohw_nvenc_double_set_faults")(f);
  }

  NVENCSTATUS open(void** encoder, void* device = nullptr) {
    NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS p{};
    p.version = NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER;
    p.deviceType = NV_ENC_DEVICE_TYPE_CUDA;
    p.device = device ? device : context_;
    p.apiVersion = NVENCAPI_VERSION;
    return api_.nvEncOpenEncodeSessionEx(&p, encoder);
  }

  NVENCSTATUS initialize(void* enc, const Config& c) {
    const GUID codec = c.codec == Codec::HEVC ? NV_ENC_CODEC_HEVC_GUID : NV_ENC_CODEC_H264_GUID;
    NV_ENC_PRESET_CONFIG preset{};
    preset.version = NV_ENC_PRESET_CONFIG_VER;
    preset.presetCfg.version = NV_ENC_CONFIG_VER;
    NVENCSTATUS s = api_.nvEncGetEncodePresetConfigEx(enc, codec, NV_ENC_PRESET_P1_GUID,
                                                      NV_ENC_TUNING_INFO_LOW_LATENCY, &preset);
    if (s != NV_ENC_SUCCESS) return s;
    config_ = preset.presetCfg;
    config_.gopLength = c.gop;
    config_.frameIntervalP = c.frame_interval_p;
    config_.rcParams.rateControlMode = c.rc;
    config_.rcParams.averageBitRate = c.bitrate;
    config_.rcParams.maxBitRate = c.bitrate;
    if (c.codec == Codec::HEVC)
      config_.encodeCodecConfig.hevcConfig.idrPeriod = c.gop;
    else
      config_.encodeCodecConfig.h264Config.idrPeriod = c.gop;
    init_ = {};
    init_.version = NV_ENC_INITIALIZE_PARAMS_VER;
    init_.encodeGUID = codec;
    init_.presetGUID = NV_ENC_PRESET_P1_GUID;
    init_.tuningInfo = NV_ENC_TUNING_INFO_LOW_LATENCY;
    init_.encodeWidth = uint32_t(c.width);
    init_.encodeHeight = uint32_t(c.height);
    init_.maxEncodeWidth = uint32_t(c.max_width);
    init_.maxEncodeHeight = uint32_t(c.max_height);
    init_.frameRateNum = 30;
    init_.frameRateDen = 1;
    init_.enablePTD = 1;
    init_.encodeConfig = &config_;
    codec_ = c.codec;
    width_ = c.width;
    height_ = c.height;
    return api_.nvEncInitializeEncoder(enc, &init_);
  }

  // Opens and initializes an encoder with `count` NV12 input and bitstream buffers.
  void start(const Config& c, int count = 4) {
    ASSERT_EQ(open(&enc_), NV_ENC_SUCCESS);
    ASSERT_EQ(initialize(enc_, c), NV_ENC_SUCCESS);
    const int bw = c.max_width ? c.max_width : c.width, bh = c.max_height ? c.max_height : c.height;
    for (int i = 0; i < count; ++i) {
      NV_ENC_CREATE_INPUT_BUFFER in{};
      in.version = NV_ENC_CREATE_INPUT_BUFFER_VER;
      in.width = uint32_t(bw);
      in.height = uint32_t(bh);
      in.bufferFmt = NV_ENC_BUFFER_FORMAT_NV12;
      ASSERT_EQ(api_.nvEncCreateInputBuffer(enc_, &in), NV_ENC_SUCCESS);
      inputs_.push_back(in.inputBuffer);
      NV_ENC_CREATE_BITSTREAM_BUFFER out{};
      out.version = NV_ENC_CREATE_BITSTREAM_BUFFER_VER;
      ASSERT_EQ(api_.nvEncCreateBitstreamBuffer(enc_, &out), NV_ENC_SUCCESS);
      outputs_.push_back(out.bitstreamBuffer);
    }
  }

  // A moving grey ramp with a frame-dependent chroma, written at the pitch the lock returns.
  void write(void* input, int index) {
    NV_ENC_LOCK_INPUT_BUFFER lock{};
    lock.version = NV_ENC_LOCK_INPUT_BUFFER_VER;
    lock.inputBuffer = input;
    ASSERT_EQ(api_.nvEncLockInputBuffer(enc_, &lock), NV_ENC_SUCCESS);
    auto* base = static_cast<uint8_t*>(lock.bufferDataPtr);
    const int bh = init_.maxEncodeHeight ? int(init_.maxEncodeHeight) : height_;
    for (int y = 0; y < height_; ++y)
      for (int x = 0; x < width_; ++x)
        base[y * lock.pitch + x] = uint8_t(16 + (x + y + 3 * index) % 200);
    uint8_t* uv = base + size_t(lock.pitch) * size_t(bh);
    for (int y = 0; y < (height_ + 1) / 2; ++y)
      for (int x = 0; x < (width_ + 1) / 2; ++x) {
        uv[y * lock.pitch + 2 * x] = uint8_t(100 + index % 50);
        uv[y * lock.pitch + 2 * x + 1] = 140;
      }
    ASSERT_EQ(api_.nvEncUnlockInputBuffer(enc_, input), NV_ENC_SUCCESS);
  }

  NVENCSTATUS encode(int slot, uint64_t ts, uint32_t flags = 0) {
    NV_ENC_PIC_PARAMS p{};
    p.version = NV_ENC_PIC_PARAMS_VER;
    p.inputWidth = uint32_t(width_);
    p.inputHeight = uint32_t(height_);
    p.inputBuffer = inputs_[size_t(slot)];
    p.outputBitstream = outputs_[size_t(slot)];
    p.bufferFmt = NV_ENC_BUFFER_FORMAT_NV12;
    p.pictureStruct = NV_ENC_PIC_STRUCT_FRAME;
    p.inputTimeStamp = ts;
    p.frameIdx = uint32_t(ts);
    p.encodePicFlags = flags;
    return api_.nvEncEncodePicture(enc_, &p);
  }

  NVENCSTATUS eos() {
    NV_ENC_PIC_PARAMS p{};
    p.version = NV_ENC_PIC_PARAMS_VER;
    p.encodePicFlags = NV_ENC_PIC_FLAG_EOS;
    return api_.nvEncEncodePicture(enc_, &p);
  }

  NVENCSTATUS lock_output(int slot, NV_ENC_LOCK_BITSTREAM& lock, bool do_not_wait = false) {
    lock = {};
    lock.version = NV_ENC_LOCK_BITSTREAM_VER;
    lock.outputBitstream = outputs_[size_t(slot)];
    lock.doNotWait = do_not_wait;
    return api_.nvEncLockBitstream(enc_, &lock);
  }

  Output read(int slot) {
    NV_ENC_LOCK_BITSTREAM lock;
    Output o;
    EXPECT_EQ(lock_output(slot, lock), NV_ENC_SUCCESS);
    auto* data = static_cast<const uint8_t*>(lock.bitstreamBufferPtr);
    o.packet.data.assign(data, data + lock.bitstreamSizeInBytes);
    o.packet.pts = int64_t(lock.outputTimeStamp);
    o.packet.dts = o.packet.pts;
    o.type = lock.pictureType;
    o.frame_idx = lock.frameIdx;
    EXPECT_EQ(api_.nvEncUnlockBitstream(enc_, outputs_[size_t(slot)]), NV_ENC_SUCCESS);
    return o;
  }

  // One frame at a time through slot 0, for encoders without B-frames.
  std::vector<Output> encode_frames(int count, int first = 0, uint32_t forced_at = ~0u) {
    std::vector<Output> out;
    for (int i = first; i < first + count; ++i) {
      write(inputs_[0], i);
      EXPECT_EQ(encode(0, uint64_t(i), uint32_t(i) == forced_at ? NV_ENC_PIC_FLAG_FORCEIDR : 0),
                NV_ENC_SUCCESS);
      out.push_back(read(0));
    }
    return out;
  }

  void destroy_all() {
    for (void* in : inputs_) EXPECT_EQ(api_.nvEncDestroyInputBuffer(enc_, in), NV_ENC_SUCCESS);
    for (void* out : outputs_)
      EXPECT_EQ(api_.nvEncDestroyBitstreamBuffer(enc_, out), NV_ENC_SUCCESS);
    inputs_.clear();
    outputs_.clear();
    EXPECT_EQ(api_.nvEncDestroyEncoder(enc_), NV_ENC_SUCCESS);
  }

  static std::vector<EncodedPacket> packets(const std::vector<Output>& outs) {
    std::vector<EncodedPacket> p;
    for (const auto& o : outs) p.push_back(o.packet);
    return p;
  }

  void* cuda_ = nullptr;
  void* nvenc_ = nullptr;
  CUcontext context_ = nullptr;
  NV_ENCODE_API_FUNCTION_LIST api_{};
  NV_ENC_CONFIG config_{};
  NV_ENC_INITIALIZE_PARAMS init_{};
  Codec codec_ = Codec::H264;
  int width_ = 0, height_ = 0;
  void* enc_ = nullptr;
  std::vector<void*> inputs_, outputs_;
};

// ---- output ------------------------------------------------------------------------------

TEST_F(NvencDouble, H264OutputDecodesToTheEncodedSizeAndFrameCount) {
  start({});
  auto outs = encode_frames(10);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  const auto frames = vhtest::decode_packets(Codec::H264, packets(outs));
  ASSERT_EQ(frames.size(), 10u);
  for (const auto& f : frames) {
    EXPECT_EQ(f.width, 64);
    EXPECT_EQ(f.height, 48);
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(outs[size_t(i)].packet.pts, i);
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDouble, HevcOutputDecodesToTheEncodedSizeAndFrameCount) {
  Config c;
  c.codec = Codec::HEVC;
  c.width = 96;
  c.height = 64;
  start(c);
  auto outs = encode_frames(6);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  const auto frames = vhtest::decode_packets(Codec::HEVC, packets(outs));
  ASSERT_EQ(frames.size(), 6u);
  EXPECT_EQ(frames[0].width, 96);
  EXPECT_EQ(frames[0].height, 64);
  EXPECT_EQ(outs[0].type, NV_ENC_PIC_TYPE_IDR);
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDouble, EveryIdrCarriesSpsAndPps) {
  Config c;
  c.gop = 3;
  start(c);
  auto outs = encode_frames(7);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  for (const auto& o : outs) {
    if (o.type != NV_ENC_PIC_TYPE_IDR) continue;
    const auto types = vhtest::nal_types(Codec::H264, o.packet.data.data(), o.packet.data.size());
    EXPECT_NE(std::find(types.begin(), types.end(), 7), types.end());
    EXPECT_NE(std::find(types.begin(), types.end(), 8), types.end());
  }
}

TEST_F(NvencDouble, LockReportsTimestampFrameIndexAndPictureType) {
  start({});
  auto outs = encode_frames(3, 40);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  EXPECT_EQ(outs[1].packet.pts, 41);
  EXPECT_EQ(outs[1].frame_idx, 41u);
  EXPECT_EQ(outs[0].type, NV_ENC_PIC_TYPE_IDR);
  EXPECT_EQ(outs[1].type, NV_ENC_PIC_TYPE_P);
  EXPECT_TRUE(vhtest::holds_idr(Codec::H264, outs[0].packet));
  EXPECT_FALSE(vhtest::holds_idr(Codec::H264, outs[1].packet));
}

TEST_F(NvencDouble, ForceIdrGivesAnIdr) {
  start({});
  auto outs = encode_frames(8, 0, 5);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(vhtest::holds_idr(Codec::H264, outs[size_t(i)].packet), i == 0 || i == 5) << i;
  EXPECT_EQ(outs[5].type, NV_ENC_PIC_TYPE_IDR);
  const auto frames = vhtest::decode_packets(Codec::H264, packets(outs));
  EXPECT_EQ(vhtest::keyframe_pts(frames), (std::vector<int64_t>{0, 5}));
}

TEST_F(NvencDouble, GopLengthPlacesIdrs) {
  Config c;
  c.gop = 4;
  start(c);
  auto outs = encode_frames(10);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  const auto frames = vhtest::decode_packets(Codec::H264, packets(outs));
  EXPECT_EQ(vhtest::keyframe_pts(frames), (std::vector<int64_t>{0, 4, 8}));
}

TEST_F(NvencDouble, BFramesReturnNeedMoreInputUntilTheAnchor) {
  Config c;
  c.frame_interval_p = 3;
  start(c, 8);
  std::vector<NVENCSTATUS> statuses;
  for (int i = 0; i < 7; ++i) {
    write(inputs_[size_t(i)], i);
    statuses.push_back(encode(i, uint64_t(i)));
  }
  const NVENCSTATUS ok = NV_ENC_SUCCESS, more = NV_ENC_ERR_NEED_MORE_INPUT;
  EXPECT_EQ(statuses, (std::vector<NVENCSTATUS>{ok, more, more, ok, more, more, ok}));
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  std::vector<Output> outs;
  for (int i = 0; i < 7; ++i) outs.push_back(read(i));
  destroy_all();
  // Buffers fill in submission order with pictures in decode order: I0 P3 B1 B2 P6 B4 B5.
  std::vector<int64_t> ts;
  for (const auto& o : outs) ts.push_back(o.packet.pts);
  EXPECT_EQ(ts, (std::vector<int64_t>{0, 3, 1, 2, 6, 4, 5}));
  EXPECT_EQ(outs[2].type, NV_ENC_PIC_TYPE_B);
  const auto frames = vhtest::decode_annexb(Codec::H264, vhtest::concatenate(packets(outs)));
  EXPECT_EQ(frames.size(), 7u);
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDouble, ReapThreadLocksWhileSubmitThreadEncodes) {
  Config c;
  c.frame_interval_p = 3;
  start(c, 4);
  std::vector<int64_t> reaped;
  constexpr int kFrames = 12;
  // NVENC's pattern: each SUCCESS releases the buffers submitted since the previous one.
  std::vector<int> released;
  std::mutex m;
  std::condition_variable cv;
  int released_count = 0;
  std::thread reaper([&] {
    for (int i = 0; i < kFrames; ++i) {
      std::unique_lock<std::mutex> lk(m);
      cv.wait(lk, [&] { return released_count > i; });
      lk.unlock();
      reaped.push_back(read(i % 4).packet.pts);
      std::lock_guard<std::mutex> g(m);
      released.push_back(i);
      cv.notify_all();
    }
  });
  for (int i = 0; i < kFrames; ++i) {
    {
      std::unique_lock<std::mutex> lk(m);
      cv.wait(lk, [&] { return int(released.size()) > i - 4; });  // slot i%4 is free again
    }
    write(inputs_[size_t(i % 4)], i);
    const NVENCSTATUS s = encode(i % 4, uint64_t(i));
    ASSERT_TRUE(s == NV_ENC_SUCCESS || s == NV_ENC_ERR_NEED_MORE_INPUT);
    if (s == NV_ENC_SUCCESS || i == kFrames - 1) {
      if (s != NV_ENC_SUCCESS) {
        ASSERT_EQ(eos(), NV_ENC_SUCCESS);
      }
      std::lock_guard<std::mutex> g(m);
      released_count = i + 1;
      cv.notify_all();
    }
  }
  reaper.join();
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  std::vector<int64_t> sorted = reaped;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < kFrames; ++i) EXPECT_EQ(sorted[size_t(i)], i);
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDouble, EncoderIsReusableAfterEosAndRestartsWithAnIdr) {
  start({});
  auto first = encode_frames(3);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  auto second = encode_frames(3, 3);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  EXPECT_EQ(second[0].type, NV_ENC_PIC_TYPE_IDR);
  EXPECT_EQ(second[1].type, NV_ENC_PIC_TYPE_P);
  auto all = first;
  all.insert(all.end(), second.begin(), second.end());
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, packets(all)).size(), 6u);
}

TEST_F(NvencDouble, SequenceParamsReturnsSpsAndPps) {
  start({});
  std::vector<uint8_t> buffer(1024);
  uint32_t size = 0;
  NV_ENC_SEQUENCE_PARAM_PAYLOAD p{};
  p.version = NV_ENC_SEQUENCE_PARAM_PAYLOAD_VER;
  p.inBufferSize = uint32_t(buffer.size());
  p.spsppsBuffer = buffer.data();
  p.outSPSPPSPayloadSize = &size;
  ASSERT_EQ(api_.nvEncGetSequenceParams(enc_, &p), NV_ENC_SUCCESS);
  const auto types = vhtest::nal_types(Codec::H264, buffer.data(), size);
  EXPECT_EQ(types, (std::vector<int>{7, 8}));
  destroy_all();
}

// ---- reconfigure -------------------------------------------------------------------------

NV_ENC_RECONFIGURE_PARAMS reconfigure_params(const NV_ENC_INITIALIZE_PARAMS& init) {
  NV_ENC_RECONFIGURE_PARAMS r{};
  r.version = NV_ENC_RECONFIGURE_PARAMS_VER;
  r.reInitEncodeParams = init;
  return r;
}

TEST_F(NvencDouble, ReconfigureBitrateContinuesTheStreamWithoutAnIdr) {
  start({});
  auto outs = encode_frames(3);
  config_.rcParams.averageBitRate = config_.rcParams.maxBitRate = 200'000;
  auto r = reconfigure_params(init_);
  ASSERT_EQ(api_.nvEncReconfigureEncoder(enc_, &r), NV_ENC_SUCCESS);
  auto more = encode_frames(3, 3);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  EXPECT_EQ(more[0].type, NV_ENC_PIC_TYPE_P);
  outs.insert(outs.end(), more.begin(), more.end());
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, packets(outs)).size(), 6u);
}

TEST_F(NvencDouble, ReconfigureForceIdrMakesTheNextPictureAnIdr) {
  start({});
  encode_frames(2);
  auto r = reconfigure_params(init_);
  r.forceIDR = 1;
  ASSERT_EQ(api_.nvEncReconfigureEncoder(enc_, &r), NV_ENC_SUCCESS);
  auto more = encode_frames(2, 2);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  EXPECT_EQ(more[0].type, NV_ENC_PIC_TYPE_IDR);
}

TEST_F(NvencDouble, ReconfigureSizeStartsAnIdrSequenceAtTheNewSize) {
  Config c;
  c.max_width = 128;
  c.max_height = 96;
  start(c);
  auto outs = encode_frames(2);
  init_.encodeWidth = 128;
  init_.encodeHeight = 96;
  auto r = reconfigure_params(init_);
  ASSERT_EQ(api_.nvEncReconfigureEncoder(enc_, &r), NV_ENC_SUCCESS);
  width_ = 128;
  height_ = 96;
  auto more = encode_frames(2, 2);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  EXPECT_EQ(more[0].type, NV_ENC_PIC_TYPE_IDR);
  outs.insert(outs.end(), more.begin(), more.end());
  const auto frames = vhtest::decode_packets(Codec::H264, packets(outs));
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[1].width, 64);
  EXPECT_EQ(frames[2].width, 128);
  EXPECT_EQ(frames[2].height, 96);
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDouble, ReconfigureBeyondTheSessionMaximumIsAViolation) {
  Config c;
  c.max_width = 128;
  c.max_height = 96;
  start(c);
  init_.encodeWidth = 256;
  auto r = reconfigure_params(init_);
  EXPECT_EQ(api_.nvEncReconfigureEncoder(enc_, &r), NV_ENC_ERR_INVALID_PARAM);
  EXPECT_NE(violations().find("exceeds the session maximum"), std::string::npos) << violations();
  destroy_all();
}

// ---- capabilities and versions -----------------------------------------------------------

int query_cap(NV_ENCODE_API_FUNCTION_LIST& api, void* enc, NV_ENC_CAPS cap) {
  NV_ENC_CAPS_PARAM p{};
  p.version = NV_ENC_CAPS_PARAM_VER;
  p.capsToQuery = cap;
  int value = -1;
  EXPECT_EQ(api.nvEncGetEncodeCaps(enc, NV_ENC_CODEC_H264_GUID, &p, &value), NV_ENC_SUCCESS);
  return value;
}

TEST_F(NvencDouble, DefaultCapsDescribeAnNvencPart) {
  ASSERT_EQ(open(&enc_), NV_ENC_SUCCESS);
  EXPECT_EQ(query_cap(api_, enc_, NV_ENC_CAPS_WIDTH_MAX), 4096);
  EXPECT_EQ(query_cap(api_, enc_, NV_ENC_CAPS_HEIGHT_MAX), 4096);
  EXPECT_GT(query_cap(api_, enc_, NV_ENC_CAPS_NUM_MAX_BFRAMES), 0);
  EXPECT_EQ(query_cap(api_, enc_, NV_ENC_CAPS_SUPPORT_DYN_RES_CHANGE), 1);
  EXPECT_EQ(query_cap(api_, enc_, NV_ENC_CAPS_SUPPORT_DYN_BITRATE_CHANGE), 1);
  EXPECT_EQ(query_cap(api_, enc_, NV_ENC_CAPS_ASYNC_ENCODE_SUPPORT), 0);
  GUID guids[4];
  uint32_t count = 0;
  ASSERT_EQ(api_.nvEncGetEncodeGUIDs(enc_, guids, 4, &count), NV_ENC_SUCCESS);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(api_.nvEncDestroyEncoder(enc_), NV_ENC_SUCCESS);
}

TEST_F(NvencDouble, CapsComeFromTheEnvironment) {
  setenv("VIDEOHW_NVENC_DOUBLE_CAPS", "max_width=1920,max_height=1080,b_frames=0,hevc=0", 1);
  reset_nvenc();
  ASSERT_EQ(open(&enc_), NV_ENC_SUCCESS);
  EXPECT_EQ(query_cap(api_, enc_, NV_ENC_CAPS_WIDTH_MAX), 1920);
  EXPECT_EQ(query_cap(api_, enc_, NV_ENC_CAPS_HEIGHT_MAX), 1080);
  EXPECT_EQ(query_cap(api_, enc_, NV_ENC_CAPS_NUM_MAX_BFRAMES), 0);
  uint32_t count = 0;
  ASSERT_EQ(api_.nvEncGetEncodeGUIDCount(enc_, &count), NV_ENC_SUCCESS);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(api_.nvEncDestroyEncoder(enc_), NV_ENC_SUCCESS);
}

TEST_F(NvencDouble, MaxVersionComesFromTheEnvironmentAndGatesCreateInstance) {
  setenv("VIDEOHW_NVENC_DOUBLE_MAX_VERSION", "11.0", 1);
  reset_nvenc();
  uint32_t version = 0;
  ASSERT_EQ(
      symbol<NVENCSTATUS (*)(uint32_t*)>(nvenc_, "NvEncodeAPIGetMaxSupportedVersion")(&version),
      NV_ENC_SUCCESS);
  EXPECT_EQ(version, (11u << 4) | 0u);
  EXPECT_EQ(create_instance(), NV_ENC_ERR_INVALID_VERSION);
}

TEST_F(NvencDouble, FunctionListOfAnotherVersionIsRejected) {
  api_ = {};
  api_.version = NV_ENCODE_API_FUNCTION_LIST_VER + 1;
  EXPECT_EQ(symbol<NVENCSTATUS (*)(NV_ENCODE_API_FUNCTION_LIST*)>(
                nvenc_, "NvEncodeAPICreateInstance")(&api_),
            NV_ENC_ERR_INVALID_VERSION);
  EXPECT_EQ(api_.nvEncOpenEncodeSessionEx, nullptr);
}

TEST_F(NvencDouble, NoEncodeDeviceFailsOpenLikeAnH100) {
  setenv("VIDEOHW_NVENC_DOUBLE_NO_ENCODE_DEVICE", "1", 1);
  reset_nvenc();
  EXPECT_EQ(open(&enc_), NV_ENC_ERR_NO_ENCODE_DEVICE);
  EXPECT_EQ(open_sessions(), 0);
}

// ---- faults ------------------------------------------------------------------------------

TEST_F(NvencDouble, OpenFaultFailsOpen) {
  ASSERT_EQ(set_faults("open"), 0);
  EXPECT_EQ(open(&enc_), NV_ENC_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(open_sessions(), 0);
}

TEST_F(NvencDouble, FaultsComeFromTheEnvironment) {
  setenv("VIDEOHW_NVENC_DOUBLE_FAULTS", "open", 1);
  reset_nvenc();
  EXPECT_EQ(open(&enc_), NV_ENC_ERR_OUT_OF_MEMORY);
}

TEST_F(NvencDouble, InitializeFaultFailsInitialize) {
  ASSERT_EQ(set_faults("initialize"), 0);
  ASSERT_EQ(open(&enc_), NV_ENC_SUCCESS);
  EXPECT_EQ(initialize(enc_, {}), NV_ENC_ERR_UNSUPPORTED_PARAM);
  EXPECT_EQ(api_.nvEncDestroyEncoder(enc_), NV_ENC_SUCCESS);
}

TEST_F(NvencDouble, BufferCreationFaultsFailAllocation) {
  ASSERT_EQ(open(&enc_), NV_ENC_SUCCESS);
  ASSERT_EQ(initialize(enc_, {}), NV_ENC_SUCCESS);
  ASSERT_EQ(set_faults("create_input,create_bitstream"), 0);
  NV_ENC_CREATE_INPUT_BUFFER in{};
  in.version = NV_ENC_CREATE_INPUT_BUFFER_VER;
  in.width = 64;
  in.height = 48;
  in.bufferFmt = NV_ENC_BUFFER_FORMAT_NV12;
  EXPECT_EQ(api_.nvEncCreateInputBuffer(enc_, &in), NV_ENC_ERR_OUT_OF_MEMORY);
  NV_ENC_CREATE_BITSTREAM_BUFFER out{};
  out.version = NV_ENC_CREATE_BITSTREAM_BUFFER_VER;
  EXPECT_EQ(api_.nvEncCreateBitstreamBuffer(enc_, &out), NV_ENC_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(api_.nvEncDestroyEncoder(enc_), NV_ENC_SUCCESS);
  EXPECT_EQ(violations(), "");  // nothing was created, so nothing leaked
}

TEST_F(NvencDouble, ReconfigureFaultFailsReconfigure) {
  start({});
  ASSERT_EQ(set_faults("reconfigure"), 0);
  auto r = reconfigure_params(init_);
  EXPECT_EQ(api_.nvEncReconfigureEncoder(enc_, &r), NV_ENC_ERR_UNSUPPORTED_PARAM);
  destroy_all();
}

TEST_F(NvencDouble, EncodeFaultAtTheNthCallFailsOnlyThatCallAndTakesNoFrame) {
  start({});
  ASSERT_EQ(set_faults("encode@2"), 0);
  write(inputs_[0], 0);
  ASSERT_EQ(encode(0, 0), NV_ENC_SUCCESS);
  read(0);
  write(inputs_[0], 1);
  EXPECT_EQ(encode(0, 1), NV_ENC_ERR_GENERIC);
  EXPECT_EQ(encode(0, 1), NV_ENC_SUCCESS);  // the retry goes through
  EXPECT_EQ(read(0).packet.pts, 1);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDouble, UnknownFaultNameIsRefused) {
  EXPECT_EQ(set_faults("open,explode"), -1);
}

// ---- rule violations ---------------------------------------------------------------------

TEST_F(NvencDouble, WrongStructVersionIsAViolation) {
  ASSERT_EQ(open(&enc_), NV_ENC_SUCCESS);
  NV_ENC_CAPS_PARAM p{};
  p.version = NV_ENC_CAPS_PARAM_VER - 1;
  p.capsToQuery = NV_ENC_CAPS_WIDTH_MAX;
  int value = 0;
  EXPECT_EQ(api_.nvEncGetEncodeCaps(enc_, NV_ENC_CODEC_H264_GUID, &p, &value),
            NV_ENC_ERR_INVALID_VERSION);
  EXPECT_NE(violations().find("NV_ENC_CAPS_PARAM.version"), std::string::npos);
  api_.nvEncDestroyEncoder(enc_);
}

TEST_F(NvencDouble, OpenWithoutALiveCudaContextIsAViolation) {
  int not_a_context = 0;
  EXPECT_EQ(open(&enc_, &not_a_context), NV_ENC_ERR_INVALID_DEVICE);
  EXPECT_NE(violations().find("not a live CUcontext"), std::string::npos);
}

TEST_F(NvencDouble, BufferCreationBeforeInitializeIsAViolation) {
  ASSERT_EQ(open(&enc_), NV_ENC_SUCCESS);
  NV_ENC_CREATE_BITSTREAM_BUFFER out{};
  out.version = NV_ENC_CREATE_BITSTREAM_BUFFER_VER;
  EXPECT_EQ(api_.nvEncCreateBitstreamBuffer(enc_, &out), NV_ENC_ERR_ENCODER_NOT_INITIALIZED);
  EXPECT_NE(violations().find("before nvEncInitializeEncoder"), std::string::npos);
  api_.nvEncDestroyEncoder(enc_);
}

TEST_F(NvencDouble, SecondInitializeIsAViolation) {
  start({});
  EXPECT_EQ(initialize(enc_, {}), NV_ENC_ERR_INVALID_CALL);
  EXPECT_NE(violations().find("second time"), std::string::npos);
  destroy_all();
}

TEST_F(NvencDouble, DoubleLockOfAnInputBufferIsAViolation) {
  start({});
  NV_ENC_LOCK_INPUT_BUFFER lock{};
  lock.version = NV_ENC_LOCK_INPUT_BUFFER_VER;
  lock.inputBuffer = inputs_[0];
  ASSERT_EQ(api_.nvEncLockInputBuffer(enc_, &lock), NV_ENC_SUCCESS);
  EXPECT_EQ(api_.nvEncLockInputBuffer(enc_, &lock), NV_ENC_ERR_INVALID_CALL);
  EXPECT_NE(violations().find("already locked"), std::string::npos);
  api_.nvEncUnlockInputBuffer(enc_, inputs_[0]);
  destroy_all();
}

TEST_F(NvencDouble, EncodingALockedInputBufferIsAViolation) {
  start({});
  NV_ENC_LOCK_INPUT_BUFFER lock{};
  lock.version = NV_ENC_LOCK_INPUT_BUFFER_VER;
  lock.inputBuffer = inputs_[0];
  ASSERT_EQ(api_.nvEncLockInputBuffer(enc_, &lock), NV_ENC_SUCCESS);
  EXPECT_EQ(encode(0, 0), NV_ENC_ERR_INVALID_CALL);
  EXPECT_NE(violations().find("still locked"), std::string::npos);
  api_.nvEncUnlockInputBuffer(enc_, inputs_[0]);
  destroy_all();
}

TEST_F(NvencDouble, DestroyingALockedBufferIsAViolation) {
  start({});
  write(inputs_[0], 0);
  ASSERT_EQ(encode(0, 0), NV_ENC_SUCCESS);
  NV_ENC_LOCK_BITSTREAM lock;
  ASSERT_EQ(lock_output(0, lock), NV_ENC_SUCCESS);
  EXPECT_EQ(api_.nvEncDestroyBitstreamBuffer(enc_, outputs_[0]), NV_ENC_ERR_INVALID_CALL);
  EXPECT_NE(violations().find("is locked"), std::string::npos);
  api_.nvEncUnlockBitstream(enc_, outputs_[0]);
  destroy_all();
}

TEST_F(NvencDouble, DoubleLockOfABitstreamIsAViolation) {
  start({});
  write(inputs_[0], 0);
  ASSERT_EQ(encode(0, 0), NV_ENC_SUCCESS);
  NV_ENC_LOCK_BITSTREAM lock;
  ASSERT_EQ(lock_output(0, lock), NV_ENC_SUCCESS);
  EXPECT_EQ(lock_output(0, lock), NV_ENC_ERR_INVALID_CALL);
  EXPECT_NE(violations().find("already locked"), std::string::npos);
  api_.nvEncUnlockBitstream(enc_, outputs_[0]);
  destroy_all();
}

TEST_F(NvencDouble, LockingBeforeSuccessIsAViolation) {
  Config c;
  c.frame_interval_p = 3;
  start(c);
  write(inputs_[0], 0);
  ASSERT_EQ(encode(0, 0), NV_ENC_SUCCESS);
  write(inputs_[1], 1);
  ASSERT_EQ(encode(1, 1), NV_ENC_ERR_NEED_MORE_INPUT);
  NV_ENC_LOCK_BITSTREAM lock;
  EXPECT_EQ(lock_output(1, lock), NV_ENC_ERR_INVALID_CALL);
  EXPECT_NE(violations().find("NV_ENC_ERR_NEED_MORE_INPUT"), std::string::npos);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  read(0);
  read(1);
  destroy_all();
}

TEST_F(NvencDouble, UseOfADestroyedBufferIsAViolation) {
  start({});
  void* gone = inputs_[3];
  ASSERT_EQ(api_.nvEncDestroyInputBuffer(enc_, gone), NV_ENC_SUCCESS);
  inputs_.pop_back();
  NV_ENC_LOCK_INPUT_BUFFER lock{};
  lock.version = NV_ENC_LOCK_INPUT_BUFFER_VER;
  lock.inputBuffer = gone;
  EXPECT_EQ(api_.nvEncLockInputBuffer(enc_, &lock), NV_ENC_ERR_INVALID_PARAM);
  EXPECT_NE(violations().find("already destroyed"), std::string::npos);
  destroy_all();
}

TEST_F(NvencDouble, CallAfterDestroyEncoderIsAViolation) {
  start({});
  destroy_all();
  uint32_t count = 0;
  EXPECT_EQ(api_.nvEncGetEncodeGUIDCount(enc_, &count), NV_ENC_ERR_INVALID_ENCODERDEVICE);
  EXPECT_NE(violations().find("already destroyed"), std::string::npos);
  EXPECT_EQ(open_sessions(), 0);
}

TEST_F(NvencDouble, LeakedBuffersAtDestroyAreAViolation) {
  start({}, 2);
  EXPECT_EQ(api_.nvEncDestroyEncoder(enc_), NV_ENC_SUCCESS);
  EXPECT_NE(violations().find("leaked buffers"), std::string::npos);
}

TEST_F(NvencDouble, PendingPicturesWithoutEosAtDestroyAreAViolation) {
  Config c;
  c.frame_interval_p = 3;
  start(c);
  write(inputs_[0], 0);
  ASSERT_EQ(encode(0, 0), NV_ENC_SUCCESS);
  write(inputs_[1], 1);
  ASSERT_EQ(encode(1, 1), NV_ENC_ERR_NEED_MORE_INPUT);
  destroy_all();
  EXPECT_NE(violations().find("still pending"), std::string::npos) << violations();
}

TEST_F(NvencDouble, DestroyingTheContextBeforeTheEncoderIsAViolation) {
  start({});
  ASSERT_EQ(symbol<tcuCtxDestroy_v2*>(cuda_, "cuCtxDestroy_v2")(context_), CUDA_SUCCESS);
  destroy_all();
  EXPECT_NE(violations().find("CUDA context was destroyed first"), std::string::npos);
}

TEST_F(NvencDouble, CallLogRecordsEveryCallWithItsStatus) {
  start({}, 1);
  encode_frames(1);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  const std::string log = call_log();
  EXPECT_NE(log.find("nvEncOpenEncodeSessionEx"), std::string::npos);
  EXPECT_NE(log.find(" flags=0 in="), std::string::npos) << log;
  EXPECT_NE(log.find("flags=EOS -> NV_ENC_SUCCESS"), std::string::npos);
  EXPECT_LT(log.find("nvEncDestroyBitstreamBuffer"), log.find("nvEncDestroyEncoder"));
}

// ---- the CUDA double ---------------------------------------------------------------------

TEST_F(NvencDouble, CudaDoubleReportsNoDevicesWhenAsked) {
  setenv("VIDEOHW_CUDA_DOUBLE_DEVICES", "0", 1);
  symbol<void (*)()>(cuda_, "videohw_cuda_double_reset")();
  ASSERT_EQ(symbol<tcuInit*>(cuda_, "cuInit")(0), CUDA_SUCCESS);
  int count = -1;
  ASSERT_EQ(symbol<tcuDeviceGetCount*>(cuda_, "cuDeviceGetCount")(&count), CUDA_SUCCESS);
  EXPECT_EQ(count, 0);
  CUdevice dev = -1;
  EXPECT_NE(symbol<tcuDeviceGet*>(cuda_, "cuDeviceGet")(&dev, 0), CUDA_SUCCESS);
}

TEST_F(NvencDouble, CudaInitFaultFailsCuInit) {
  setenv("VIDEOHW_CUDA_DOUBLE_FAULTS", "init", 1);
  symbol<void (*)()>(cuda_, "videohw_cuda_double_reset")();
  const CUresult r = symbol<tcuInit*>(cuda_, "cuInit")(0);
  EXPECT_NE(r, CUDA_SUCCESS);
  const char* name = nullptr;
  ASSERT_EQ(symbol<tcuGetErrorName*>(cuda_, "cuGetErrorName")(r, &name), CUDA_SUCCESS);
  EXPECT_STREQ(name, "CUDA_ERROR_NOT_INITIALIZED");
}

TEST_F(NvencDouble, CudaContextStackPushesAndPops) {
  auto push = symbol<tcuCtxPushCurrent_v2*>(cuda_, "cuCtxPushCurrent_v2");
  auto pop = symbol<tcuCtxPopCurrent_v2*>(cuda_, "cuCtxPopCurrent_v2");
  CUcontext popped = nullptr;
  ASSERT_EQ(pop(&popped), CUDA_SUCCESS);  // cuCtxCreate made it current
  EXPECT_EQ(popped, context_);
  EXPECT_NE(pop(&popped), CUDA_SUCCESS);  // empty stack
  ASSERT_EQ(push(context_), CUDA_SUCCESS);
  ASSERT_EQ(pop(&popped), CUDA_SUCCESS);
  EXPECT_EQ(popped, context_);
}

// ---- device input: registered CUDA device pointers ---------------------------------------

// A frame in the CUDA double's device memory, laid out as NVENC reads a registration: luma
// rows at `pitch`, then NV12's interleaved chroma at `pitch` or IYUV/YV12's two planes at
// pitch / 2, each plane (height + 1) / 2 rows.
struct DeviceFrame {
  CUdeviceptr ptr = 0;
  size_t pitch = 0;
  int width = 0, height = 0;
  NV_ENC_BUFFER_FORMAT format = NV_ENC_BUFFER_FORMAT_NV12;
  size_t rows() const { return size_t(height) + size_t(height + 1) / 2; }
};

// What frame `index` holds: a moving luma ramp, flat chroma that differs per plane and frame
// (so a swapped U/V or a wrong plane offset shows in the decoded means).
uint8_t luma_at(int x, int y, int index) {
  return uint8_t(16 + (x + y + 3 * index) % 200);
}
uint8_t u_of(int index) {
  return uint8_t(60 + 2 * index);
}
uint8_t v_of(int index) {
  return uint8_t(200 - 2 * index);
}

class NvencDoubleDevice : public NvencDouble {
 protected:
  void TearDown() override {
    for (const DeviceFrame& f : frames_) symbol<tcuMemFree_v2*>(cuda_, "cuMemFree_v2")(f.ptr);
    frames_.clear();
    NvencDouble::TearDown();
  }

  // An encoder with `outputs` bitstream buffers and no host input buffer at all.
  void start_device(const Config& c, int outputs = 2) {
    ASSERT_EQ(open(&enc_), NV_ENC_SUCCESS);
    ASSERT_EQ(initialize(enc_, c), NV_ENC_SUCCESS);
    for (int i = 0; i < outputs; ++i) {
      NV_ENC_CREATE_BITSTREAM_BUFFER out{};
      out.version = NV_ENC_CREATE_BITSTREAM_BUFFER_VER;
      ASSERT_EQ(api_.nvEncCreateBitstreamBuffer(enc_, &out), NV_ENC_SUCCESS);
      outputs_.push_back(out.bitstreamBuffer);
    }
  }

  // cuMemAllocPitch (the pitch the driver picks) or, with `pitch` set, cuMemAlloc of a
  // frame at exactly that pitch, as a tensor is.
  DeviceFrame alloc_frame(NV_ENC_BUFFER_FORMAT format, size_t pitch = 0) {
    DeviceFrame f;
    f.width = width_;
    f.height = height_;
    f.format = format;
    if (pitch) {
      f.pitch = pitch;
      EXPECT_EQ(symbol<tcuMemAlloc_v2*>(cuda_, "cuMemAlloc_v2")(&f.ptr, pitch * f.rows()),
                CUDA_SUCCESS);
    } else {
      EXPECT_EQ(symbol<tcuMemAllocPitch_v2*>(cuda_, "cuMemAllocPitch_v2")(
                    &f.ptr, &f.pitch, size_t(width_), f.rows(), 4),
                CUDA_SUCCESS);
    }
    frames_.push_back(f);
    return f;
  }

  // Writes frame `index` (padding 0xee, which must never reach the picture) with
  // cuMemcpy2D_v2 host->device for pitched memory, cuMemcpyHtoD_v2 for linear.
  void fill(const DeviceFrame& f, int index, bool pitched_copy) {
    std::vector<uint8_t> host(f.pitch * f.rows(), 0xee);
    const int cw = (f.width + 1) / 2, ch = (f.height + 1) / 2;
    for (int y = 0; y < f.height; ++y)
      for (int x = 0; x < f.width; ++x)
        host[size_t(y) * f.pitch + size_t(x)] = luma_at(x, y, index);
    uint8_t* chroma = host.data() + f.pitch * size_t(f.height);
    if (f.format == NV_ENC_BUFFER_FORMAT_NV12) {
      for (int y = 0; y < ch; ++y)
        for (int x = 0; x < cw; ++x) {
          chroma[size_t(y) * f.pitch + size_t(2 * x)] = u_of(index);
          chroma[size_t(y) * f.pitch + size_t(2 * x + 1)] = v_of(index);
        }
    } else {
      const size_t cpitch = f.pitch / 2;
      uint8_t* first = chroma;
      uint8_t* second = chroma + cpitch * size_t(ch);
      uint8_t* u = f.format == NV_ENC_BUFFER_FORMAT_IYUV ? first : second;
      uint8_t* v = f.format == NV_ENC_BUFFER_FORMAT_IYUV ? second : first;
      for (int y = 0; y < ch; ++y) {
        std::memset(u + size_t(y) * cpitch, u_of(index), size_t(cw));
        std::memset(v + size_t(y) * cpitch, v_of(index), size_t(cw));
      }
    }
    if (pitched_copy) {
      CUDA_MEMCPY2D c{};
      c.srcMemoryType = CU_MEMORYTYPE_HOST;
      c.srcHost = host.data();
      c.srcPitch = f.pitch;
      c.dstMemoryType = CU_MEMORYTYPE_DEVICE;
      c.dstDevice = f.ptr;
      c.dstPitch = f.pitch;
      c.WidthInBytes = f.pitch;
      c.Height = f.rows();
      ASSERT_EQ(symbol<tcuMemcpy2D_v2*>(cuda_, "cuMemcpy2D_v2")(&c), CUDA_SUCCESS);
    } else {
      ASSERT_EQ(
          symbol<tcuMemcpyHtoD_v2*>(cuda_, "cuMemcpyHtoD_v2")(f.ptr, host.data(), host.size()),
          CUDA_SUCCESS);
    }
  }

  NVENCSTATUS register_frame(
      const DeviceFrame& f, NV_ENC_REGISTERED_PTR& handle,
      NV_ENC_INPUT_RESOURCE_TYPE type = NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR) {
    NV_ENC_REGISTER_RESOURCE r{};
    r.version = NV_ENC_REGISTER_RESOURCE_VER;
    r.resourceType = type;
    r.resourceToRegister = reinterpret_cast<void*>(uintptr_t(f.ptr));
    r.width = uint32_t(f.width);
    r.height = uint32_t(f.height);
    r.pitch = uint32_t(f.pitch);
    r.bufferFormat = f.format;
    r.bufferUsage = NV_ENC_INPUT_IMAGE;
    handle = nullptr;
    const NVENCSTATUS s = api_.nvEncRegisterResource(enc_, &r);
    handle = r.registeredResource;
    return s;
  }

  NVENCSTATUS map(NV_ENC_REGISTERED_PTR handle, NV_ENC_INPUT_PTR& mapped,
                  NV_ENC_BUFFER_FORMAT* format = nullptr) {
    NV_ENC_MAP_INPUT_RESOURCE m{};
    m.version = NV_ENC_MAP_INPUT_RESOURCE_VER;
    m.registeredResource = handle;
    const NVENCSTATUS s = api_.nvEncMapInputResource(enc_, &m);
    mapped = m.mappedResource;
    if (format) *format = m.mappedBufferFmt;
    return s;
  }

  NVENCSTATUS encode_device(NV_ENC_INPUT_PTR input, int slot, uint64_t ts,
                            NV_ENC_BUFFER_FORMAT format = NV_ENC_BUFFER_FORMAT_NV12,
                            uint32_t pitch = 0) {
    NV_ENC_PIC_PARAMS p{};
    p.version = NV_ENC_PIC_PARAMS_VER;
    p.inputWidth = uint32_t(width_);
    p.inputHeight = uint32_t(height_);
    p.inputPitch = pitch;
    p.inputBuffer = input;
    p.outputBitstream = outputs_[size_t(slot)];
    p.bufferFmt = format;
    p.pictureStruct = NV_ENC_PIC_STRUCT_FRAME;
    p.inputTimeStamp = ts;
    p.frameIdx = uint32_t(ts);
    return api_.nvEncEncodePicture(enc_, &p);
  }

  // The adapter's loop: register each frame once, then per picture map, encode, lock the
  // output, unmap; unregister at the end.
  std::vector<Output> encode_device_frames(std::vector<DeviceFrame> frames, int count,
                                           bool pitched_copy) {
    std::vector<NV_ENC_REGISTERED_PTR> registered(frames.size());
    for (size_t i = 0; i < frames.size(); ++i)
      EXPECT_EQ(register_frame(frames[i], registered[i]), NV_ENC_SUCCESS);
    EXPECT_EQ(registered_resources(), int(frames.size()));
    std::vector<Output> outs;
    for (int i = 0; i < count; ++i) {
      const size_t which = size_t(i) % frames.size();
      fill(frames[which], i, pitched_copy);
      NV_ENC_INPUT_PTR mapped = nullptr;
      NV_ENC_BUFFER_FORMAT format = NV_ENC_BUFFER_FORMAT_UNDEFINED;
      EXPECT_EQ(map(registered[which], mapped, &format), NV_ENC_SUCCESS);
      EXPECT_EQ(format, frames[which].format);
      EXPECT_EQ(mapped_resources(), 1);
      EXPECT_EQ(encode_device(mapped, 0, uint64_t(i), format), NV_ENC_SUCCESS);
      outs.push_back(read(0));
      EXPECT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
    }
    EXPECT_EQ(mapped_resources(), 0);
    EXPECT_EQ(eos(), NV_ENC_SUCCESS);
    for (NV_ENC_REGISTERED_PTR r : registered)
      EXPECT_EQ(api_.nvEncUnregisterResource(enc_, r), NV_ENC_SUCCESS);
    EXPECT_EQ(registered_resources(), 0);
    return outs;
  }

  void expect_frames_match(const std::vector<Output>& outs) {
    const auto decoded = vhtest::decode_packets(codec_, packets(outs));
    ASSERT_EQ(decoded.size(), outs.size());
    for (const auto& f : decoded) {
      const int index = int(f.pts);
      double sum = 0;
      for (int y = 0; y < height_; ++y)
        for (int x = 0; x < width_; ++x) sum += luma_at(x, y, index);
      EXPECT_EQ(f.width, width_);
      EXPECT_EQ(f.height, height_);
      EXPECT_NEAR(f.mean_y, sum / (width_ * height_), 2.0) << "frame " << index;
      EXPECT_NEAR(f.mean_u, u_of(index), 2.0) << "frame " << index;
      EXPECT_NEAR(f.mean_v, v_of(index), 2.0) << "frame " << index;
    }
  }

  // The only violation is one line holding `text`.
  void expect_only_violation(const std::string& text) {
    const std::string v = violations();
    EXPECT_EQ(std::count(v.begin(), v.end(), '\n'), 1) << v;
    EXPECT_NE(v.find(text), std::string::npos) << v;
  }

  int registered_resources() {
    return symbol<int (*)()>(nvenc_, "videohw_nvenc_double_registered_resources")();
  }
  int mapped_resources() {
    return symbol<int (*)()>(nvenc_, "videohw_nvenc_double_mapped_resources")();
  }
  long device_pictures() {
    return symbol<long (*)()>(nvenc_, "videohw_nvenc_double_device_input_pictures")();
  }
  long host_pictures() {
    return symbol<long (*)()>(nvenc_, "videohw_nvenc_double_host_input_pictures")();
  }
  std::string cuda_log() {
    return symbol<const char* (*)()>(cuda_, "videohw_cuda_double_call_log")();
  }
  std::string cuda_violations() {
    return symbol<const char* (*)()>(cuda_, "videohw_cuda_double_violations")();
  }

  // An encoder with one registered NV12 frame, mapped.
  void start_mapped(NV_ENC_REGISTERED_PTR& registered, NV_ENC_INPUT_PTR& mapped,
                    const Config& c = {}) {
    start_device(c);
    const DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
    fill(f, 0, true);
    ASSERT_EQ(register_frame(f, registered), NV_ENC_SUCCESS);
    ASSERT_EQ(map(registered, mapped), NV_ENC_SUCCESS);
  }

  std::vector<DeviceFrame> frames_;
};

TEST_F(NvencDoubleDevice, Nv12DeviceFramesEncodeToWhatWasWritten) {
  start_device({});
  const DeviceFrame a = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  const DeviceFrame b = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  EXPECT_EQ(a.pitch, 512u);  // cuMemAllocPitch's pitch, wider than the 64-byte row
  const auto outs = encode_device_frames({a, b}, 6, true);
  destroy_all();
  expect_frames_match(outs);
  EXPECT_EQ(device_pictures(), 6);
  EXPECT_EQ(host_pictures(), 0);
  EXPECT_EQ(violations(), "");
  EXPECT_EQ(cuda_violations(), "");
  const std::string log = call_log();
  EXPECT_NE(log.find("nvEncRegisterResource enc=1 type=CUDADEVICEPTR ptr=0x"), std::string::npos)
      << log;
  EXPECT_NE(log.find(" 64x48 pitch=512 fmt=NV12 reg="), std::string::npos) << log;
  EXPECT_NE(log.find("fmt=NV12 -> NV_ENC_SUCCESS"), std::string::npos) << log;
  // Bitstream buffers took ids 1 and 2, the registrations 3 and 4, the first mapping 5.
  for (const char* line : {"nvEncMapInputResource enc=1 reg=3 mapped=5 fmt=NV12 -> NV_ENC_SUCCESS",
                           "nvEncEncodePicture enc=1 flags=0 in=5 out=1 ts=0 -> NV_ENC_SUCCESS",
                           "nvEncUnmapInputResource enc=1 mapped=5 -> NV_ENC_SUCCESS",
                           "nvEncUnregisterResource enc=1 reg=3 -> NV_ENC_SUCCESS"})
    EXPECT_NE(log.find(std::string(line) + "\n"), std::string::npos) << line << "\n" << log;
  // Read through the CUDA driver, with the encoder's context current.
  const std::string cuda = cuda_log();
  EXPECT_NE(cuda.find("cuCtxPushCurrent_v2"), std::string::npos) << cuda;
  EXPECT_NE(cuda.find("cuMemcpy2D_v2 64x48 -> CUDA_SUCCESS"), std::string::npos) << cuda;
}

TEST_F(NvencDoubleDevice, IyuvDeviceFrameAtItsRowPitchEncodesToWhatWasWritten) {
  Config c;
  c.codec = Codec::HEVC;
  c.width = 96;
  c.height = 64;
  start_device(c);
  const DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_IYUV, 96);
  const auto outs = encode_device_frames({f}, 4, false);
  destroy_all();
  expect_frames_match(outs);
  EXPECT_EQ(device_pictures(), 4);
  EXPECT_EQ(violations(), "");
  EXPECT_NE(call_log().find(" 96x64 pitch=96 fmt=IYUV reg="), std::string::npos) << call_log();
}

TEST_F(NvencDoubleDevice, Yv12DeviceFramesEncodeToWhatWasWritten) {
  start_device({});
  const auto outs = encode_device_frames({alloc_frame(NV_ENC_BUFFER_FORMAT_YV12, 64)}, 3, true);
  destroy_all();
  expect_frames_match(outs);
}

// Identical pixels, identical bytes: libx264 runs single-threaded in the double, so the
// device path is checked against the host path to the last bit.
TEST_F(NvencDoubleDevice, DeviceFramesEncodeToTheSameBytesAsHostBuffers) {
  start({}, 1);
  std::vector<Output> host;
  for (int i = 0; i < 5; ++i) {
    NV_ENC_LOCK_INPUT_BUFFER lock{};
    lock.version = NV_ENC_LOCK_INPUT_BUFFER_VER;
    lock.inputBuffer = inputs_[0];
    ASSERT_EQ(api_.nvEncLockInputBuffer(enc_, &lock), NV_ENC_SUCCESS);
    auto* base = static_cast<uint8_t*>(lock.bufferDataPtr);
    for (int y = 0; y < height_; ++y)
      for (int x = 0; x < width_; ++x) base[y * lock.pitch + x] = luma_at(x, y, i);
    uint8_t* uv = base + size_t(lock.pitch) * size_t(height_);
    for (int y = 0; y < (height_ + 1) / 2; ++y)
      for (int x = 0; x < (width_ + 1) / 2; ++x) {
        uv[y * lock.pitch + 2 * x] = u_of(i);
        uv[y * lock.pitch + 2 * x + 1] = v_of(i);
      }
    ASSERT_EQ(api_.nvEncUnlockInputBuffer(enc_, inputs_[0]), NV_ENC_SUCCESS);
    ASSERT_EQ(encode(0, uint64_t(i)), NV_ENC_SUCCESS);
    host.push_back(read(0));
  }
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  destroy_all();
  EXPECT_EQ(host_pictures(), 5);

  start_device({});
  const auto device = encode_device_frames({alloc_frame(NV_ENC_BUFFER_FORMAT_NV12)}, 5, true);
  destroy_all();
  ASSERT_EQ(device.size(), host.size());
  for (size_t i = 0; i < host.size(); ++i)
    EXPECT_EQ(device[i].packet.data, host[i].packet.data) << "picture " << i;
  EXPECT_EQ(device_pictures(), 5);
  EXPECT_EQ(host_pictures(), 5);
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDoubleDevice, BFramesKeepEachInputMappedUntilItsOutputIsLocked) {
  Config c;
  c.frame_interval_p = 3;
  start_device(c, 3);
  std::vector<NV_ENC_REGISTERED_PTR> registered(3);
  std::vector<NV_ENC_INPUT_PTR> mapped(3);
  std::vector<NVENCSTATUS> statuses;
  for (int i = 0; i < 3; ++i) {
    const DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
    fill(f, i, true);
    ASSERT_EQ(register_frame(f, registered[size_t(i)]), NV_ENC_SUCCESS);
    ASSERT_EQ(map(registered[size_t(i)], mapped[size_t(i)]), NV_ENC_SUCCESS);
    statuses.push_back(encode_device(mapped[size_t(i)], i, uint64_t(i)));
  }
  EXPECT_EQ(statuses, (std::vector<NVENCSTATUS>{NV_ENC_SUCCESS, NV_ENC_ERR_NEED_MORE_INPUT,
                                                NV_ENC_ERR_NEED_MORE_INPUT}));
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  std::vector<Output> outs;
  for (int i = 0; i < 3; ++i) {
    outs.push_back(read(i));
    ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped[size_t(i)]), NV_ENC_SUCCESS);
    ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered[size_t(i)]), NV_ENC_SUCCESS);
  }
  destroy_all();
  expect_frames_match(outs);
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDoubleDevice, AFailedDeviceReadFailsTheEncodeAndTakesNoFrame) {
  start_device({});
  std::vector<uint8_t> host_memory(64 * 72);  // not device memory: the copy must fail
  DeviceFrame f;
  f.ptr = CUdeviceptr(reinterpret_cast<uintptr_t>(host_memory.data()));
  f.pitch = 64;
  f.width = 64;
  f.height = 48;
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  ASSERT_EQ(register_frame(f, registered), NV_ENC_SUCCESS);
  ASSERT_EQ(map(registered, mapped), NV_ENC_SUCCESS);
  EXPECT_EQ(encode_device(mapped, 0, 0), NV_ENC_ERR_GENERIC);
  EXPECT_EQ(device_pictures(), 0);
  const std::string log = call_log();
  EXPECT_NE(log.find("(reading mapped resource"), std::string::npos) << log;
  EXPECT_NE(log.find("cuMemcpy2D_v2 from 0x"), std::string::npos) << log;
  EXPECT_NE(log.find("CUDA_ERROR_INVALID_VALUE) -> NV_ENC_ERR_GENERIC"), std::string::npos) << log;
  EXPECT_NE(cuda_violations().find("outside every allocation"), std::string::npos);
  EXPECT_EQ(violations(), "");
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  // The output buffer took nothing, so the encoder goes on with a good frame.
  const auto outs = encode_device_frames({alloc_frame(NV_ENC_BUFFER_FORMAT_NV12)}, 1, true);
  destroy_all();
  expect_frames_match(outs);
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDoubleDevice, RegisterFaultFailsRegisterAndRegistersNothing) {
  start_device({});
  const DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  ASSERT_EQ(set_faults("register@1"), 0);
  NV_ENC_REGISTERED_PTR registered = nullptr;
  EXPECT_EQ(register_frame(f, registered), NV_ENC_ERR_RESOURCE_REGISTER_FAILED);
  EXPECT_EQ(registered_resources(), 0);
  EXPECT_NE(call_log().find("fmt=NV12 -> NV_ENC_ERR_RESOURCE_REGISTER_FAILED"), std::string::npos);
  ASSERT_EQ(register_frame(f, registered), NV_ENC_SUCCESS);  // only the first call fails
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDoubleDevice, MapFaultFailsMapAndMapsNothing) {
  start_device({});
  const DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  NV_ENC_REGISTERED_PTR registered = nullptr;
  ASSERT_EQ(register_frame(f, registered), NV_ENC_SUCCESS);
  ASSERT_EQ(set_faults("map"), 0);
  NV_ENC_INPUT_PTR mapped = nullptr;
  EXPECT_EQ(map(registered, mapped), NV_ENC_ERR_MAP_FAILED);
  EXPECT_EQ(mapped_resources(), 0);
  ASSERT_EQ(set_faults(""), 0);
  ASSERT_EQ(map(registered, mapped), NV_ENC_SUCCESS);  // nothing was left mapped
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
  EXPECT_EQ(violations(), "");
}

TEST_F(NvencDoubleDevice, FaultsFromTheEnvironmentKnowRegisterAndMap) {
  setenv("VIDEOHW_NVENC_DOUBLE_FAULTS", "register@2,map@3", 1);
  reset_nvenc();
  EXPECT_EQ(call_log().find("ignored"), std::string::npos) << call_log();
}

// ---- device input rules: each test breaks exactly one ------------------------------------

TEST_F(NvencDoubleDevice, RegisterOfAnotherResourceTypeIsAViolation) {
  start_device({});
  const DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  NV_ENC_REGISTERED_PTR registered = nullptr;
  EXPECT_EQ(register_frame(f, registered, NV_ENC_INPUT_RESOURCE_TYPE_DIRECTX),
            NV_ENC_ERR_INVALID_PARAM);
  expect_only_violation("resourceType 0 is not NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR");
  EXPECT_NE(call_log().find("type=DIRECTX"), std::string::npos);
  destroy_all();
}

TEST_F(NvencDoubleDevice, RegisterOfANullPointerIsAViolation) {
  start_device({});
  DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  f.ptr = 0;
  NV_ENC_REGISTERED_PTR registered = nullptr;
  EXPECT_EQ(register_frame(f, registered), NV_ENC_ERR_INVALID_PTR);
  expect_only_violation("resourceToRegister is NULL");
  destroy_all();
}

TEST_F(NvencDoubleDevice, RegisterWithAPitchSmallerThanTheRowIsAViolation) {
  start_device({});
  DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  f.pitch = 60;
  NV_ENC_REGISTERED_PTR registered = nullptr;
  EXPECT_EQ(register_frame(f, registered), NV_ENC_ERR_INVALID_PARAM);
  expect_only_violation("pitch 60 is smaller than a row of 64 bytes");
  destroy_all();
}

TEST_F(NvencDoubleDevice, RegisterWithAPitchNotAMultipleOfFourIsAViolation) {
  start_device({});
  DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  f.pitch = 66;
  NV_ENC_REGISTERED_PTR registered = nullptr;
  EXPECT_EQ(register_frame(f, registered), NV_ENC_ERR_INVALID_PARAM);
  expect_only_violation("pitch 66 is not a multiple of 4");
  destroy_all();
}

TEST_F(NvencDoubleDevice, RegisterOfAnUnsupportedFormatIsAViolation) {
  start_device({});
  DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  f.format = NV_ENC_BUFFER_FORMAT_ARGB;
  NV_ENC_REGISTERED_PTR registered = nullptr;
  EXPECT_EQ(register_frame(f, registered), NV_ENC_ERR_INVALID_PARAM);
  expect_only_violation("bufferFormat ARGB is not one nvEncGetInputFormats reports");
  destroy_all();
}

TEST_F(NvencDoubleDevice, MapOfAnUnknownHandleIsAViolation) {
  start_device({});
  int not_a_handle = 0;
  NV_ENC_INPUT_PTR mapped = nullptr;
  EXPECT_EQ(map(&not_a_handle, mapped), NV_ENC_ERR_RESOURCE_NOT_REGISTERED);
  expect_only_violation("registeredResource is not one nvEncRegisterResource returned");
  destroy_all();
}

TEST_F(NvencDoubleDevice, MapOfAnUnregisteredResourceIsAViolation) {
  start_device({});
  const DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  NV_ENC_REGISTERED_PTR registered = nullptr;
  ASSERT_EQ(register_frame(f, registered), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  NV_ENC_INPUT_PTR mapped = nullptr;
  EXPECT_EQ(map(registered, mapped), NV_ENC_ERR_RESOURCE_NOT_REGISTERED);
  expect_only_violation("was already unregistered");
  destroy_all();
}

TEST_F(NvencDoubleDevice, MappingAMappedResourceAgainIsAViolation) {
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr, again = nullptr;
  start_mapped(registered, mapped);
  EXPECT_EQ(map(registered, again), NV_ENC_ERR_INVALID_CALL);
  expect_only_violation("is already mapped");
  EXPECT_EQ(mapped_resources(), 1);
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
}

TEST_F(NvencDoubleDevice, EncodingTheRegisteredHandleIsAViolation) {
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  start_mapped(registered, mapped);
  EXPECT_EQ(encode_device(registered, 0, 0), NV_ENC_ERR_RESOURCE_NOT_MAPPED);
  expect_only_violation("inputBuffer is registered resource");
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
}

TEST_F(NvencDoubleDevice, EncodingAnUnmappedHandleIsAViolation) {
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  start_mapped(registered, mapped);
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  EXPECT_EQ(encode_device(mapped, 0, 0), NV_ENC_ERR_RESOURCE_NOT_MAPPED);
  expect_only_violation("nvEncEncodePicture: mapped resource");
  EXPECT_NE(violations().find("was already unmapped"), std::string::npos);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
}

TEST_F(NvencDoubleDevice, EncodingWithAnotherFormatThanTheRegistrationIsAViolation) {
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  start_mapped(registered, mapped);
  EXPECT_EQ(encode_device(mapped, 0, 0, NV_ENC_BUFFER_FORMAT_IYUV), NV_ENC_ERR_INVALID_PARAM);
  expect_only_violation("bufferFmt IYUV but mapped resource");
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
}

TEST_F(NvencDoubleDevice, EncodingWithAnotherPitchThanTheRegistrationIsAViolation) {
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  start_mapped(registered, mapped);
  EXPECT_EQ(encode_device(mapped, 0, 0, NV_ENC_BUFFER_FORMAT_NV12, 256), NV_ENC_ERR_INVALID_PARAM);
  expect_only_violation("inputPitch 256 but mapped resource");
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
}

TEST_F(NvencDoubleDevice, EncodingARegistrationSmallerThanTheEncodeSizeIsAViolation) {
  start_device({});
  DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  f.height = 32;
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  ASSERT_EQ(register_frame(f, registered), NV_ENC_SUCCESS);
  ASSERT_EQ(map(registered, mapped), NV_ENC_SUCCESS);
  EXPECT_EQ(encode_device(mapped, 0, 0), NV_ENC_ERR_INVALID_PARAM);
  expect_only_violation("is 64x32 (its registration), smaller than the encode size");
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
}

TEST_F(NvencDoubleDevice, UnmapOfAnUnknownHandleIsAViolation) {
  start_device({});
  int not_a_handle = 0;
  EXPECT_EQ(api_.nvEncUnmapInputResource(enc_, &not_a_handle), NV_ENC_ERR_RESOURCE_NOT_MAPPED);
  expect_only_violation("handle is not one nvEncMapInputResource returned");
  destroy_all();
}

TEST_F(NvencDoubleDevice, UnmapOfAnUnmappedResourceIsAViolation) {
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  start_mapped(registered, mapped);
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  EXPECT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_ERR_RESOURCE_NOT_MAPPED);
  expect_only_violation("nvEncUnmapInputResource: mapped resource");
  EXPECT_NE(violations().find("was already unmapped"), std::string::npos);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
}

TEST_F(NvencDoubleDevice, UnmapBeforeTheOutputIsLockedIsAViolation) {
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  start_mapped(registered, mapped);
  ASSERT_EQ(encode_device(mapped, 0, 0), NV_ENC_SUCCESS);
  EXPECT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  expect_only_violation("unmapped before the output of the picture that used it was locked");
  read(0);
  ASSERT_EQ(eos(), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
}

TEST_F(NvencDoubleDevice, UnregisterWhileMappedIsAViolation) {
  NV_ENC_REGISTERED_PTR registered = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  start_mapped(registered, mapped);
  EXPECT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_ERR_INVALID_CALL);
  expect_only_violation("is still mapped");
  EXPECT_EQ(registered_resources(), 1);  // refused: still registered
  ASSERT_EQ(api_.nvEncUnmapInputResource(enc_, mapped), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  destroy_all();
}

TEST_F(NvencDoubleDevice, UnregisterOfAnUnknownHandleIsAViolation) {
  start_device({});
  int not_a_handle = 0;
  EXPECT_EQ(api_.nvEncUnregisterResource(enc_, &not_a_handle), NV_ENC_ERR_RESOURCE_NOT_REGISTERED);
  expect_only_violation("handle is not one nvEncRegisterResource returned");
  destroy_all();
}

TEST_F(NvencDoubleDevice, UnregisterTwiceIsAViolation) {
  start_device({});
  const DeviceFrame f = alloc_frame(NV_ENC_BUFFER_FORMAT_NV12);
  NV_ENC_REGISTERED_PTR registered = nullptr;
  ASSERT_EQ(register_frame(f, registered), NV_ENC_SUCCESS);
  ASSERT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_SUCCESS);
  EXPECT_EQ(api_.nvEncUnregisterResource(enc_, registered), NV_ENC_ERR_RESOURCE_NOT_REGISTERED);
  expect_only_violation("was already unregistered");
  destroy_all();
}

TEST_F(NvencDoubleDevice, DestroyingTheEncoderWithResourcesRegisteredIsALeak) {
  NV_ENC_REGISTERED_PTR registered = nullptr, other = nullptr;
  NV_ENC_INPUT_PTR mapped = nullptr;
  start_mapped(registered, mapped);
  ASSERT_EQ(register_frame(alloc_frame(NV_ENC_BUFFER_FORMAT_NV12), other), NV_ENC_SUCCESS);
  destroy_all();
  expect_only_violation("leaked registered resources");
  EXPECT_NE(violations().find("(mapped as "), std::string::npos) << violations();
  EXPECT_EQ(registered_resources(), 0);  // they went with the encoder
}

}  // namespace
