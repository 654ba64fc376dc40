// The parameter sets a stream has carried so far, keyed by id: H.264 SPS/PPS, HEVC
// VPS/SPS/PPS. A decoder (or an avcC/hvcC writer) looks up what a picture refers to, and
// learns when a sequence changes (a new SPS content under an id).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "bitstream/access_unit_assembler.hpp"
#include "bitstream/parameter_set_syntax.hpp"
#include "contract/types.hpp"

namespace videohw::bitstream {

class ParameterSetCache {
 public:
  enum class Update { NotAParameterSet, Unchanged, Stored };

  explicit ParameterSetCache(Codec codec);

  // Stores a parameter-set NAL unit (header included, no start code). Other units are
  // ignored. A malformed parameter set throws Error(Decode) and leaves the cache as it was.
  Update add(const uint8_t* nal, size_t size);
  // Every NAL unit of an access unit; true when any parameter set was new or changed.
  bool add_access_unit(const AccessUnit& au);

  const SpsInfo* sps(int id) const;
  const SpsInfo* sps_for_pps(int pps_id) const;  // the SPS a PPS refers to, if both known
  // Raw NAL units (header included) in id order.
  std::vector<std::vector<uint8_t>> vps_units() const { return units(vps_); }
  std::vector<std::vector<uint8_t>> sps_units() const { return units(sps_); }
  std::vector<std::vector<uint8_t>> pps_units() const { return units(pps_); }
  bool empty() const { return sps_.empty() && pps_.empty() && vps_.empty(); }
  Codec codec() const { return codec_; }

 private:
  struct Entry {
    std::vector<uint8_t> nal;
    SpsInfo sps;     // SPS entries only
    int sps_id = 0;  // PPS entries only
  };
  static std::vector<std::vector<uint8_t>> units(const std::map<int, Entry>& m);
  static Update store(std::map<int, Entry>& m, int id, Entry entry);

  Codec codec_;
  std::map<int, Entry> vps_, sps_, pps_;
};

}  // namespace videohw::bitstream
