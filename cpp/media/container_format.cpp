// Names and file extensions of the containers the Muxer writes (media/muxer.hpp).
#include <algorithm>
#include <cctype>
#include <string>

#include "contract/errors.hpp"
#include "media/muxer.hpp"

namespace videohw::media {

namespace {

struct Extension {
  const char* suffix;
  ContainerFormat format;
};

constexpr Extension kExtensions[] = {
    {".mp4", ContainerFormat::Mp4},     {".m4v", ContainerFormat::Mp4},
    {".mov", ContainerFormat::Mp4},     {".mkv", ContainerFormat::Matroska},
    {".ts", ContainerFormat::MpegTs},   {".m2ts", ContainerFormat::MpegTs},
    {".h264", ContainerFormat::AnnexB}, {".264", ContainerFormat::AnnexB},
    {".avc", ContainerFormat::AnnexB},  {".h265", ContainerFormat::AnnexB},
    {".265", ContainerFormat::AnnexB},  {".hevc", ContainerFormat::AnnexB},
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

// The extension of the last path component, dot included; empty when it has none.
std::string extension_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t name = slash == std::string::npos ? 0 : slash + 1;
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || dot <= name) return "";
  return path.substr(dot);
}

}  // namespace

const char* to_string(ContainerFormat format) {
  switch (format) {
    case ContainerFormat::Mp4:
      return "mp4";
    case ContainerFormat::FragmentedMp4:
      return "fmp4";
    case ContainerFormat::Matroska:
      return "mkv";
    case ContainerFormat::MpegTs:
      return "ts";
    case ContainerFormat::AnnexB:
      return "annexb";
  }
  return "unknown";
}

ContainerFormat container_for_path(const std::string& path) {
  const std::string ext = lower(extension_of(path));
  for (const Extension& known : kExtensions)
    if (ext == known.suffix) return known.format;
  std::string list;
  for (const Extension& known : kExtensions)
    list += std::string(list.empty() ? "" : " ") + known.suffix;
  throw Error(ErrorKind::Config,
              "cannot tell the container of '" + path + "' from its extension" +
                  (ext.empty() ? std::string(" (it has none)") : " '" + ext + "'") +
                  "; expected one of " + list +
                  ", or give the format explicitly "
                  "(mp4, fmp4, mkv, ts, annexb)");
}

ContainerFormat parse_container_format(const std::string& name) {
  for (ContainerFormat f :
       {ContainerFormat::Mp4, ContainerFormat::FragmentedMp4, ContainerFormat::Matroska,
        ContainerFormat::MpegTs, ContainerFormat::AnnexB})
    if (name == to_string(f)) return f;
  throw Error(ErrorKind::Config,
              "container format '" + name + "'; expected mp4, fmp4, mkv, ts or annexb");
}

std::string segment_path(const std::string& path, int number, ContainerFormat format, Codec codec) {
  if (number <= 1) return path;
  const std::string ext = extension_of(path);
  const std::string stem = path.substr(0, path.size() - ext.size());
  const std::string tag = ".seg" + std::to_string(number);
  if (format == ContainerFormat::AnnexB) return stem + tag + "." + to_string(codec);
  return stem + tag + ext;
}

}  // namespace videohw::media
