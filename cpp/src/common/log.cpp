#include "protekt/log.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace protekt {
namespace {

// The sink is swapped rarely and read on every line: readers copy the shared_ptr
// under the mutex and call it outside, so a slow sink never holds the lock.
std::mutex sink_mutex;
std::shared_ptr<const log_sink> current_sink;  // guarded by sink_mutex
std::atomic<bool> has_sink{false};
std::atomic<int> least_level{static_cast<int>(log_level::info)};

std::shared_ptr<const log_sink> sink() {
  std::lock_guard lock(sink_mutex);
  return current_sink;
}

}  // namespace

void set_log_sink(log_sink s) {
  const bool installed = static_cast<bool>(s);
  auto next = installed ? std::make_shared<const log_sink>(std::move(s)) : nullptr;
  std::lock_guard lock(sink_mutex);
  current_sink = std::move(next);
  has_sink.store(installed, std::memory_order_release);
}

void set_log_level(log_level level) {
  least_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool log_enabled(log_level level) noexcept {
  return has_sink.load(std::memory_order_acquire) &&
         static_cast<int>(level) >= least_level.load(std::memory_order_relaxed);
}

void write_log(log_level level, std::string message) noexcept {
  try {
    if (const auto s = sink()) (*s)(level, std::move(message));
  } catch (...) {
    // A log line is never worth failing the work that wrote it.
  }
}

}  // namespace protekt
