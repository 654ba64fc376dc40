// probe(): a container's description with exact frame and keyframe counts for every video
// stream, counted from its packets (no decoding).
#pragma once

#include "media/demuxer.hpp"
#include "media/media_info.hpp"

namespace videohw::media {

// Scans every video stream of the demuxer (rewinding between streams); the demuxer is left
// at an unspecified position with the last stream selected.
ContainerInfo probe(Demuxer& demuxer);

}  // namespace videohw::media
