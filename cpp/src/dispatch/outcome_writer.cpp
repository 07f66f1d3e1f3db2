#include "dispatch/outcome_writer.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>

#include "common/threads.hpp"
#include "protekt/error.hpp"
#include "protekt/log.hpp"

namespace protekt::dispatch {

outcome_writer::outcome_writer(store& s) : store_(s) {
  thread_ = std::thread([this] {
    detail::mark_this_thread_batch();
    detail::name_this_thread("protekt-outcome");
    run();
  });
}

outcome_writer::~outcome_writer() {
  flush();
}

void outcome_writer::push(outcome_record record, then_fn then) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back({std::move(record), std::move(then)});
      // The writer waits for a first outcome, or for a full batch while outcomes
      // gather; any other push would only wake it to sleep again.
      if (queue_.size() == 1 || queue_.size() == kMaxBatch) queued_.notify_one();
      return;
    }
  }
  // Stopped: nobody else will store it.
  std::vector<item> alone;
  alone.push_back({std::move(record), std::move(then)});
  store_batch(alone);
}

void outcome_writer::flush() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void outcome_writer::run() {
  std::vector<item> batch;
  auto last_commit = std::chrono::steady_clock::now() - kGatherWindow;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing is left

      // Let outcomes gather for what is left of the window since the last commit,
      // so a busy dispatcher commits a few hundred times a second at most.
      queued_.wait_until(lock, last_commit + kGatherWindow,
                         [this] { return stopping_ || queue_.size() >= kMaxBatch; });

      const std::size_t n = std::min(queue_.size(), kMaxBatch);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
    }
    store_batch(batch);
    batch.clear();
    last_commit = std::chrono::steady_clock::now();
  }
}

void outcome_writer::store_batch(std::vector<item>& batch) {
  std::vector<outcome_record> records;
  records.reserve(batch.size());
  for (item& i : batch) records.push_back(std::move(i.record));

  std::vector<bool> stored(batch.size(), false);
  try {
    stored = store_.record_outcomes(records);
  } catch (const error& e) {
    // Not stored (disk, permissions): the leases run out and the deliveries are made
    // again, so nothing is lost.
    log(log_level::error, [&] {
      return "could not store the outcomes of " + std::to_string(batch.size()) +
             " attempts (" + e.what() + "); they are sent again when their leases end";
    });
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].then) continue;
    try {
      batch[i].then(stored[i]);
    } catch (const error&) {
      // What follows an outcome (disabling an endpoint, a failing-period check) is
      // tried again with the endpoint's next outcome.
    }
  }
}

}  // namespace protekt::dispatch
