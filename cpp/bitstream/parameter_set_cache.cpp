#include "bitstream/parameter_set_cache.hpp"

#include <string>

#include "bitstream/nal.hpp"
#include "contract/errors.hpp"

namespace videohw::bitstream {

ParameterSetCache::ParameterSetCache(Codec codec) : codec_(codec) {
  if (codec != Codec::H264 && codec != Codec::HEVC)
    throw Error(ErrorKind::Config, std::string("parameter sets are known for H.264 and HEVC, "
                                               "not ") +
                                       to_string(codec));
}

ParameterSetCache::Update ParameterSetCache::add(const uint8_t* nal, size_t size) {
  NalHeader header;
  if (nal == nullptr || !parse_nal_header(codec_, nal, size, header) ||
      !is_parameter_set(codec_, header.type))
    return Update::NotAParameterSet;
  // Other layers' parameter sets share ids with the base layer's: not ours to replace.
  if (header.layer_id != 0) return Update::NotAParameterSet;
  Entry entry;
  entry.nal.assign(nal, nal + size);
  const bool hevc = codec_ == Codec::HEVC;
  if (hevc && header.type == hevc::kVps) return store(vps_, parse_hevc_vps_id(nal, size), entry);
  if (header.type == (hevc ? hevc::kSps : h264::kSps)) {
    entry.sps = parse_sps(codec_, nal, size);
    return store(sps_, entry.sps.id, std::move(entry));
  }
  const PpsIds ids = parse_pps_ids(codec_, nal, size);
  entry.sps_id = ids.sps_id;
  return store(pps_, ids.pps_id, std::move(entry));
}

bool ParameterSetCache::add_access_unit(const AccessUnit& au) {
  bool changed = false;
  for (const NalUnit& unit : au.nals)
    if (unit.offset + unit.size <= au.data.size())
      changed |= add(au.data.data() + unit.offset, unit.size) == Update::Stored;
  return changed;
}

const SpsInfo* ParameterSetCache::sps(int id) const {
  const auto it = sps_.find(id);
  return it == sps_.end() ? nullptr : &it->second.sps;
}

const SpsInfo* ParameterSetCache::sps_for_pps(int pps_id) const {
  const auto it = pps_.find(pps_id);
  return it == pps_.end() ? nullptr : sps(it->second.sps_id);
}

std::vector<std::vector<uint8_t>> ParameterSetCache::units(const std::map<int, Entry>& m) {
  std::vector<std::vector<uint8_t>> out;
  out.reserve(m.size());
  for (const auto& [id, entry] : m) out.push_back(entry.nal);
  return out;
}

ParameterSetCache::Update ParameterSetCache::store(std::map<int, Entry>& m, int id, Entry entry) {
  auto it = m.find(id);
  if (it != m.end() && it->second.nal == entry.nal) return Update::Unchanged;
  m[id] = std::move(entry);
  return Update::Stored;
}

}  // namespace videohw::bitstream
