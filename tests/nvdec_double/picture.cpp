#include "picture.hpp"

#include <map>
#include <mutex>

namespace nvdecdouble {

namespace {

struct Registry {
  std::mutex mutex;
  std::map<const unsigned char*, std::weak_ptr<Picture>> by_bitstream;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_picture(const std::shared_ptr<Picture>& picture) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().by_bitstream[picture->slices.data()] = picture;
}

void unregister_picture(const Picture& picture) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().by_bitstream.erase(picture.slices.data());
}

std::shared_ptr<Picture> find_picture(const unsigned char* bitstream) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  auto it = registry().by_bitstream.find(bitstream);
  return it == registry().by_bitstream.end() ? nullptr : it->second.lock();
}

}  // namespace nvdecdouble
