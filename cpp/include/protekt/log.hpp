// The engine's log: one line per significant event (an engine opened, a dispatcher
// started, a delivery that failed for good, an endpoint disabled), passed to one
// process-wide sink. The core never prints. Lines never hold a secret or a payload.
//
// The Python package connects the sink to logging.getLogger("protekt")
// (cpp/bindings/logging.cpp); a C++ program may install its own.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace protekt {

// The numbers are Python's logging levels, so they pass through unchanged.
enum class log_level : int { debug = 10, info = 20, warning = 30, error = 40 };

// Receives each line at or above the level set. Called on whichever engine thread
// logged (I/O threads among them), so it must be thread-safe and must not block.
using log_sink = std::function<void(log_level, std::string message)>;

// Replaces the sink; an empty one turns logging off. Thread-safe; a line being
// passed to the old sink meanwhile may still reach it.
void set_log_sink(log_sink sink);

// The least level passed to the sink (default: info). Thread-safe.
void set_log_level(log_level level);

// Whether a line at level would reach a sink: false with no sink installed.
bool log_enabled(log_level level) noexcept;

// Passes message to the sink. Prefer log(), which builds the message only when it
// is wanted. Never throws: a sink that throws loses that line.
void write_log(log_level level, std::string message) noexcept;

// Logs the string that make() returns, calling make() only when level is enabled.
template <class MakeMessage>
void log(log_level level, MakeMessage&& make) {
  if (log_enabled(level)) write_log(level, std::forward<MakeMessage>(make)());
}

}  // namespace protekt
