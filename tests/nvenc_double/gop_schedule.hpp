// NVENC's picture-type decision (enablePTD = 1) as the double makes it: IDR every idrPeriod
// pictures, I every gopLength, and frameIntervalP - 1 B-frames between anchors.
#pragma once

#include <ffnvcodec/nvEncodeAPI.h>

#include <cstdint>

namespace nvdouble {

class GopSchedule {
 public:
  // 0 for gop_length / idr_period means infinite.
  void configure(uint32_t gop_length, uint32_t idr_period, int frame_interval_p);
  // The next picture starts a new coded sequence (EOS, encoder reset, size change).
  void restart() { need_idr_ = true; }
  // Type of the next picture in display order.
  NV_ENC_PIC_TYPE next(bool force_idr);

 private:
  uint32_t gop_ = 0, idr_ = 0;
  int interval_ = 1;
  bool need_idr_ = true;
  int64_t since_idr_ = 0;    // display position of the last picture, counted from its IDR
  int64_t last_anchor_ = 0;  // position of the last I/IDR/P
};

}  // namespace nvdouble
