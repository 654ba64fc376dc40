// What the Muxer refuses before it writes anything: configs it cannot honour and packets
// that are not Annex-B access units. Each message says what was given and what was expected.
#pragma once

#include <string>

#include "contract/types.hpp"
#include "media/muxer.hpp"

namespace videohw::media {

// Empty when the config can be written; else what is wrong with it.
std::string config_problem(const MuxerConfig& config);

// Throws Error(Config) for a packet in AVCC/HVCC layout and Error(Media) for one whose
// bytes do not begin with a start code; `where` says which file ("in segment 2 of ...").
void check_annexb_packet(const EncodedPacket& packet, const std::string& where);

}  // namespace videohw::media
