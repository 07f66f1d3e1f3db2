// Stores the outcomes of delivery attempts in batches, on a thread of its own.
//
// A request's coroutine hands its outcome over and moves on to the next delivery;
// whatever queues up while one transaction commits goes into the next one, so a busy
// dispatcher pays one sync to disk for many deliveries instead of one each. An outcome
// queued but not yet stored when the process dies is lost: its delivery is still
// leased in the store and is made again when the lease ends (at least once).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "protekt/store.hpp"

namespace protekt::dispatch {

class outcome_writer {
 public:
  // Runs on the writer thread once the outcome's transaction has committed (stored:
  // its delivery still existed) or failed (stored false; the lease runs out and the
  // delivery is made again). May be empty.
  using then_fn = std::function<void(bool stored)>;

  // The most outcomes one transaction holds, to bound its size.
  static constexpr std::size_t kMaxBatch = 1024;
  // The least time between two commits while outcomes keep coming: they gather
  // meanwhile, and each sync to disk stores more of them. Outcomes are not awaited by
  // the requests that made them, so this costs no delivery any time.
  static constexpr std::chrono::milliseconds kGatherWindow{5};

  // REQUIRES: s outlives the writer. Starts the thread.
  explicit outcome_writer(store& s);
  // Flushes (see flush()).
  ~outcome_writer();
  outcome_writer(const outcome_writer&) = delete;
  outcome_writer& operator=(const outcome_writer&) = delete;

  // Queues an outcome. Thread-safe. After flush(), stores it on the caller's thread.
  void push(outcome_record record, then_fn then = {});

  // Stores everything queued, runs its callbacks, and stops the thread. Idempotent.
  void flush();

 private:
  struct item {
    outcome_record record;
    then_fn then;
  };

  void run();
  void store_batch(std::vector<item>& batch);

  store& store_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::vector<item> queue_;  // guarded by mutex_
  bool stopping_ = false;    // guarded by mutex_
  std::thread thread_;
};

}  // namespace protekt::dispatch
