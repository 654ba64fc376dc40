// Whether a pushed chunk is exactly one access unit, so low-latency decode can tell the
// cuvid parser "end of picture" (CUVID_PKT_ENDOFPICTURE) and have it decode the picture now
// instead of waiting for the next start code.
#pragma once

#include <cstddef>
#include <cstdint>

#include "contract/types.hpp"

namespace videohw::nv_session {

// True when `data` starts with a start code, its first NAL unit can begin an access unit
// (AUD, parameter set, SEI, or the first slice of a picture), and it holds the first slice
// of exactly one picture, ending with a slice NAL unit. An encoder's packets pass; a chunk
// cut mid-picture or spanning two pictures does not. A multi-slice picture cut exactly at a
// slice boundary is indistinguishable from a whole one: low-latency callers push whole
// access units (an encoder's packets) or arbitrary chunks with low_latency off.
bool is_single_access_unit(const uint8_t* data, size_t size, Codec codec);

}  // namespace videohw::nv_session
