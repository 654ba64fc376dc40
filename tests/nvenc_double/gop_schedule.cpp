#include "gop_schedule.hpp"

namespace nvdouble {

void GopSchedule::configure(uint32_t gop_length, uint32_t idr_period, int frame_interval_p) {
  gop_ = gop_length;
  idr_ = idr_period;
  interval_ = frame_interval_p < 1 ? 1 : frame_interval_p;
}

NV_ENC_PIC_TYPE GopSchedule::next(bool force_idr) {
  const int64_t pos = since_idr_ + 1;
  if (need_idr_ || force_idr || (idr_ && pos % idr_ == 0)) {
    need_idr_ = false;
    since_idr_ = 0;
    last_anchor_ = 0;
    return NV_ENC_PIC_TYPE_IDR;
  }
  since_idr_ = pos;
  if (gop_ && pos % gop_ == 0) {
    last_anchor_ = pos;
    return NV_ENC_PIC_TYPE_I;
  }
  if (interval_ > 1 && (pos - last_anchor_) % interval_ != 0) return NV_ENC_PIC_TYPE_B;
  last_anchor_ = pos;
  return NV_ENC_PIC_TYPE_P;
}

}  // namespace nvdouble
