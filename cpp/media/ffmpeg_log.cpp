#include "media/ffmpeg_log.hpp"

extern "C" {
#include <libavutil/log.h>
}

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "media/ffmpeg_log_owner.hpp"

namespace videohw::media {

namespace {

// FFmpeg's own callback prints at most this much of a line; so do we.
constexpr size_t kLineBytes = 1024;
constexpr size_t kComponentBytes = 64;
// Level bits above these are the ffmpeg CLI's colour tint (AV_LOG_C).
constexpr int kLevelMask = 0xff;

// One line being assembled on one thread: FFmpeg logs some lines in pieces, and pieces of
// different threads must not mix. Trivially destructible, so a line logged while a thread
// (or the process) is being torn down reads nothing that was freed.
struct PendingLine {
  int print_prefix = 1;  // av_log_format_line2's state: the next piece starts a line
  size_t length = 0;
  int level = 0;
  bool forward = false;
  char component[kComponentBytes] = {};
  char text[kLineBytes] = {};
};
thread_local PendingLine t_line;

std::atomic<FfmpegLogListener> g_listener{nullptr};

int initial_level() {
  const char* env = std::getenv("VIDEOHW_FFMPEG_LOG_LEVEL");
  if (env && *env) {
    if (auto level = parse_ffmpeg_log_level(env)) return *level;
  }
  return AV_LOG_WARNING;
}

struct LevelState {
  std::mutex mu;  // orders set_ffmpeg_log_level against install's av_log_set_level
  std::atomic<int> level{initial_level()};
  bool installed = false;
};

LevelState& level_state() {
  // Never destroyed: FFmpeg's threads may still log while static destructors run.
  static LevelState* state = new LevelState;
  return *state;
}

int64_t os_thread_id() {
#if defined(__linux__)
  return int64_t(syscall(SYS_gettid));
#elif defined(__APPLE__)
  uint64_t id = 0;
  pthread_threadid_np(nullptr, &id);
  return int64_t(id);
#else
  return 0;
#endif
}

void copy_component(void* context, char (&out)[kComponentBytes]) {
  out[0] = '\0';
  const AVClass* cls = context ? *static_cast<const AVClass* const*>(context) : nullptr;
  if (!cls) return;
  const char* name = cls->item_name ? cls->item_name(context) : cls->class_name;
  if (name) std::snprintf(out, sizeof out, "%s", name);
}

void finish_line(PendingLine& line) {
  size_t n = line.length;
  while (n > 0 && std::isspace(static_cast<unsigned char>(line.text[n - 1]))) --n;
  const bool forward = line.forward && n > 0;
  line.length = 0;
  line.forward = false;
  line.print_prefix = 1;
  if (!forward) return;
  FfmpegLogLine out;
  out.level = line.level;
  out.component = line.component;
  out.text.assign(line.text, n);
  out.unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  out.thread_id = os_thread_id();
  ffmpeg_log_queue().push(std::move(out));
  if (FfmpegLogListener listener = g_listener.load(std::memory_order_acquire)) listener();
}

void take_piece(void* context, int level, const char* format, va_list args, int threshold) {
  PendingLine& line = t_line;
  if (line.length == 0) {
    // Counted once per line, when it starts, while `context` is certainly alive.
    note_ffmpeg_log_line(context, level, format);
    line.level = level;
    line.forward = level <= threshold;
    copy_component(context, line.component);
  }
  char piece[kLineBytes];
  const int n =
      av_log_format_line2(context, level, format, args, piece, sizeof piece, &line.print_prefix);
  if (n > 0) {
    const size_t piece_length = std::min(size_t(n), sizeof piece - 1);  // truncated at the end
    const size_t room = kLineBytes - 1 - line.length;
    const size_t copied = std::min(piece_length, room);
    std::memcpy(line.text + line.length, piece, copied);
    line.length += copied;
  }
  if (line.print_prefix || line.length >= kLineBytes - 1) finish_line(line);
}

void on_av_log(void* context, int level, const char* format, va_list args) {
  if (level < 0) return;  // AV_LOG_QUIET: not a level anything is logged at
  level &= kLevelMask;
  const int threshold = level_state().level.load(std::memory_order_relaxed);
  // Warnings and errors are counted whatever the level; below them nothing is formatted
  // unless it would be forwarded.
  if (level > AV_LOG_WARNING && level > threshold) {
    if (t_line.length == 0 && ffmpeg_log_line_reports_damage(level, format))
      note_ffmpeg_log_line(context, level, format);
    return;
  }
  try {
    take_piece(context, level, format, args, threshold);
  } catch (...) {
    // Out of memory for a line: the line is lost, never the process. Called from C.
    t_line.length = 0;
    t_line.print_prefix = 1;
  }
}

void before_fork() {
  ffmpeg_log_queue().before_fork();
  ffmpeg_log_owners_before_fork();
}

void after_fork_in_parent() {
  ffmpeg_log_owners_after_fork_in_parent();
  ffmpeg_log_queue().after_fork_in_parent();
}

void after_fork_in_child() {
  ffmpeg_log_owners_after_fork_in_child();
  ffmpeg_log_queue().after_fork_in_child();
}

}  // namespace

FfmpegLogQueue& ffmpeg_log_queue() {
  // Never destroyed, as level_state().
  static FfmpegLogQueue* queue = [] {
    auto* q = new FfmpegLogQueue(kFfmpegLogQueueLines);
    pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child);
    return q;
  }();
  return *queue;
}

void install_ffmpeg_log() {
  static std::once_flag once;
  std::call_once(once, [] {
    ffmpeg_log_queue();  // its fork handlers are in place before the first line
    LevelState& state = level_state();
    std::lock_guard<std::mutex> lock(state.mu);
    av_log_set_level(state.level.load());
    av_log_set_callback(&on_av_log);
    state.installed = true;
  });
}

void set_ffmpeg_log_level(int level) {
  LevelState& state = level_state();
  std::lock_guard<std::mutex> lock(state.mu);
  state.level.store(level);
  if (state.installed) av_log_set_level(level);
}

int ffmpeg_log_level() {
  return level_state().level.load();
}

std::optional<int> parse_ffmpeg_log_level(const std::string& text) {
  static const std::pair<const char*, int> kNames[] = {
      {"quiet", AV_LOG_QUIET},     {"panic", AV_LOG_PANIC},     {"fatal", AV_LOG_FATAL},
      {"error", AV_LOG_ERROR},     {"warning", AV_LOG_WARNING}, {"info", AV_LOG_INFO},
      {"verbose", AV_LOG_VERBOSE}, {"debug", AV_LOG_DEBUG},     {"trace", AV_LOG_TRACE},
  };
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return std::nullopt;
  std::string word = text.substr(first, text.find_last_not_of(" \t") - first + 1);
  std::transform(word.begin(), word.end(), word.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  for (const auto& [name, level] : kNames)
    if (word == name) return level;
  errno = 0;
  char* end = nullptr;
  const long number = std::strtol(word.c_str(), &end, 10);
  if (errno || end == word.c_str() || *end || number < AV_LOG_QUIET || number > kLevelMask)
    return std::nullopt;
  return int(number);
}

void set_ffmpeg_log_listener(FfmpegLogListener listener) {
  g_listener.store(listener, std::memory_order_release);
}

}  // namespace videohw::media
