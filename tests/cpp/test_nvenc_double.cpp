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

}  // namespace
