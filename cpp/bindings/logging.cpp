// Connects the engine's log (protekt/log.hpp) to Python's logging without an engine
// thread ever taking the GIL: the sink queues lines, and a Python thread
// (python/protekt/_logging.py) waits for them with _log_wait and hands them to
// logging.getLogger("protekt").
#include <pybind11/stl.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "protekt/log.hpp"

namespace protekt::python {
namespace {

// Lines waiting for the Python thread; past this many, new lines are dropped and
// counted, so a stalled interpreter costs memory only up to a bound.
constexpr std::size_t kMaxQueuedLines = 10000;

struct log_queue {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::pair<int, std::string>> lines;  // guarded by mutex
  std::uint64_t dropped = 0;                      // guarded by mutex
  bool stopped = false;                           // guarded by mutex
};

// Never freed: an engine thread may still log while the interpreter exits. A forked
// child gets a new one, since a thread of the parent may have held the old mutex.
std::atomic<log_queue*> queue{new log_queue};

void enqueue(log_level level, std::string message) {
  log_queue& q = *queue.load();
  {
    std::lock_guard lock(q.mutex);
    if (q.stopped) return;
    if (q.lines.size() >= kMaxQueuedLines) {
      ++q.dropped;
      return;
    }
    q.lines.emplace_back(static_cast<int>(level), std::move(message));
  }
  q.ready.notify_one();
}

// The lines queued, after waiting up to timeout_s for the first; nullopt once stopped
// and every line queued before the stop was taken.
std::optional<std::vector<std::pair<int, std::string>>> wait_for_lines(
    double timeout_s) {
  log_queue& q = *queue.load();
  std::unique_lock lock(q.mutex);
  q.ready.wait_for(lock, std::chrono::duration<double>(timeout_s),
                   [&] { return q.stopped || !q.lines.empty(); });
  if (q.stopped && q.lines.empty()) return std::nullopt;
  std::vector<std::pair<int, std::string>> taken(
      std::make_move_iterator(q.lines.begin()), std::make_move_iterator(q.lines.end()));
  q.lines.clear();
  return taken;
}

}  // namespace

void register_logging(py::module_& m) {
  m.def(
      "_log_start",
      [](int level) {
        {
          log_queue& q = *queue.load();
          std::lock_guard lock(q.mutex);
          q.stopped = false;
        }
        set_log_level(static_cast<log_level>(level));
        set_log_sink(enqueue);
      },
      "Queues the engine's log lines at level and above for _log_wait.");
  m.def("_log_set_level",
        [](int level) { set_log_level(static_cast<log_level>(level)); });
  m.def(
      "_log_wait",
      [](double timeout_s) {
        py::gil_scoped_release release;
        return wait_for_lines(timeout_s);
      },
      "Waits up to timeout_s for log lines; returns them as (level, message) pairs, "
      "or None once _log_stop was called.");
  m.def(
      "_log_stop",
      [] {
        set_log_sink({});
        log_queue& q = *queue.load();
        {
          std::lock_guard lock(q.mutex);
          q.stopped = true;
        }
        q.ready.notify_all();
      },
      "Stops queueing; _log_wait gives what is left, then None.");
  m.def("_log_dropped", [] {
    log_queue& q = *queue.load();
    std::lock_guard lock(q.mutex);
    return q.dropped;
  });
  m.def(
      "_log_after_fork", [] { queue.store(new log_queue); },
      "In a forked child: a new queue, whatever state the parent's threads left.");
}

}  // namespace protekt::python
