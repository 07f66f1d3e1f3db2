// The engine a Python process embeds: endpoints, events and their fan-out into
// deliveries, kept in a store until delivered.
//
// emit() hands an event to one writer thread, which appends everything waiting in one
// durable transaction (group commit) and then completes each caller's ticket. Several
// processes may open one directory; LMDB orders their writes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "protekt/dispatcher.hpp"
#include "protekt/endpoint.hpp"
#include "protekt/events.hpp"
#include "protekt/ids.hpp"
#include "protekt/notify.hpp"
#include "protekt/store.hpp"

namespace protekt {

namespace dispatch {
class dispatcher;
}

struct engine_options {
  std::string directory;
  bool allow_http = false;  // development: accept plain http:// endpoint URLs
  std::size_t max_event_bytes = 256 * 1024;  // encoded data of one event
  std::chrono::milliseconds retention = std::chrono::hours(24 * 7);
  std::chrono::milliseconds idempotency_window = std::chrono::hours(24);
  std::chrono::milliseconds secret_grace = std::chrono::hours(24);
  std::chrono::milliseconds sweep_interval = std::chrono::minutes(1);
  std::size_t max_batch = 1024;           // events per group commit
  std::vector<network> allowed_networks;  // deliveries may reach these (SSRF guard)
  std::string ca_file;  // trust for HTTPS deliveries; empty: the system's store
  notification_options notifications;  // SMTP relay, auto-disable, pacing
  std::size_t initial_map_size = std::size_t{64} << 20;
  std::size_t max_map_size = std::size_t{1} << 40;
};

// The durable outcome of one emit(), completed by the writer thread.
class emit_ticket {
 public:
  explicit emit_ticket(const id128& id) : id_(id) {}

  // The id the event gets if its idempotency key is new.
  const id128& id() const noexcept { return id_; }

  bool ready() const;
  // Blocks until the event is durable. THROWS what the commit threw.
  emit_outcome wait() const;
  // False when the time ran out first.
  bool wait_for(std::chrono::milliseconds timeout) const;
  // Runs callback once the ticket is ready: on the writer thread, or at once if it
  // already is. callback must not block and must not throw.
  void on_ready(std::function<void()> callback);

  void complete(const emit_outcome& outcome);
  void fail(std::exception_ptr error);

 private:
  void finish(std::unique_lock<std::mutex>& lock);

  const id128 id_;
  mutable std::mutex mutex_;
  mutable std::condition_variable done_;
  bool ready_ = false;                            // guarded by mutex_
  emit_outcome outcome_;                          // guarded by mutex_
  std::exception_ptr error_;                      // guarded by mutex_
  std::vector<std::function<void()>> callbacks_;  // guarded by mutex_
};

// Which status change an endpoint is asked for.
enum class endpoint_action { save, pause, resume, disable, mark_verified };

class engine {
 public:
  // Opens or creates the directory. THROWS storage_error, validation_error.
  explicit engine(engine_options options);
  // Closes (see close()).
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Commits what was emitted, stops the writer and releases the directory.
  // Idempotent; later calls of anything else THROW closed_error.
  void close();

  const engine_options& options() const noexcept { return options_; }

  // ---- endpoints (JSON as in docs/storage.md; THROW validation_error,
  // not_found_error)
  endpoint create_endpoint(const nlohmann::json& spec);
  endpoint update_endpoint(const id128& id, const nlohmann::json& changes);
  endpoint change_status(const id128& id, endpoint_action action,
                         bool skip_verification = false);
  // A new current secret (generated when empty); the old ones stay valid for grace.
  endpoint rotate_secret(const id128& id, const std::string& secret,
                         std::optional<std::chrono::milliseconds> grace);
  bool delete_endpoint(const id128& id);
  std::optional<endpoint> find_endpoint(const id128& id);
  std::vector<endpoint> list_endpoints();

  // ---- events
  // Validates and queues an event; the ticket completes once it is durable.
  // THROWS validation_error for an unknown or engine-only type, or data over
  // max_event_bytes; closed_error after close().
  std::shared_ptr<emit_ticket> emit(std::string type, event_data data,
                                    std::string idempotency_key = {});

  // ---- reading what is stored (THROW not_found_error only where stated)
  std::optional<stored_event> find_event(const id128& id);
  std::vector<delivery> deliveries_of(const id128& event);
  std::optional<std::string> body_of(const id128& event, std::uint8_t shape);
  std::vector<delivery> due(std::int64_t now_ms, std::size_t limit);
  std::uint64_t pending_count();

  // Removes what retention no longer keeps; runs by itself every sweep_interval.
  sweep_result sweep();

  // ---- the dispatcher lock: one process of those sharing the directory holds it.
  // Non-blocking; true when this engine holds it (now or already). The lock goes
  // with the process, so a dead holder's successor can take it.
  bool try_lock_dispatcher();
  // Stops this engine's dispatcher, if it runs, then releases the lock.
  void unlock_dispatcher();

  // ---- delivery
  // Starts sending due deliveries from this process. False (and nothing started)
  // when another process holds the dispatcher lock. THROWS validation_error.
  bool start_dispatcher(dispatcher_options options);
  // Stops sending; see dispatch::dispatcher::stop(). Keeps the lock.
  void stop_dispatcher();
  bool dispatching();

  // Verify endpoint: sends a signed webhook.verification event with a random
  // challenge and stores the answer on the endpoint, which is verified on a 200.
  // Blocks for at most the endpoint's timeout. THROWS not_found_error.
  endpoint verify_endpoint(const id128& id);

  // Send test event: a webhook.test event for one active endpoint, through the
  // queue like any event. THROWS not_found_error, validation_error (not active).
  std::shared_ptr<emit_ticket> send_test_event(const id128& id);

  std::optional<delivery> find_delivery(const id128& event, const id128& endpoint);
  std::vector<attempt> attempts_of(const id128& event, const id128& endpoint);

  // ---- dead-letter queue (see store)
  dead_letter_page dead_letters(const std::optional<id128>& endpoint, std::size_t limit,
                                std::string_view after);
  std::uint64_t dead_letter_count(const std::optional<id128>& endpoint);
  // Sends a dead letter again, with a fresh retry budget. THROWS not_found_error
  // when the delivery is not in the dead-letter queue.
  void replay(const id128& event, const id128& endpoint);
  // Up to limit dead letters; returns how many. THROWS not_found_error for an
  // endpoint that does not exist.
  std::size_t replay_all(const std::optional<id128>& endpoint, std::size_t limit);
  std::size_t purge_dead_letters(const std::optional<id128>& endpoint,
                                 std::size_t limit);

  // ---- the delivery log and statistics (see store)
  delivery_log_page delivery_log(const delivery_filter& filter, std::size_t limit,
                                 std::string_view after);
  std::vector<attempt> recent_attempts(const id128& endpoint, std::size_t limit);
  std::vector<std::pair<id128, endpoint_counters>> counters();
  endpoint_counters counters_of(const id128& endpoint);
  std::uint64_t events_emitted();

  // ---- failure notifications
  endpoint_health health_of(const id128& endpoint);
  // The endpoint's pending notice as JSON (docs/notifications.md); nullopt if none.
  std::optional<std::string> notice_of(const id128& endpoint);

 private:
  struct queued {
    emit_request request;
    std::shared_ptr<emit_ticket> ticket;
  };

  endpoint store_status(const id128& id, endpoint_action action,
                        bool skip_verification);
  std::shared_ptr<emit_ticket> enqueue(std::string type, event_data data,
                                       std::string idempotency_key,
                                       std::optional<id128> target);
  void run_writer();
  void commit_batch(std::vector<queued>& batch);
  fanout plan(const emit_request& request, std::span<const endpoint> active) const;
  // Holds the store open for one call. THROWS closed_error after close().
  std::shared_lock<std::shared_mutex> open_lock() const;
  void wake_dispatcher();
  // THROWS not_found_error unless the endpoint exists (or none is given).
  void require_endpoint(const std::optional<id128>& endpoint);

  const engine_options options_;
  mutable std::shared_mutex lifecycle_;  // shared by calls, unique to close()
  std::unique_ptr<store> store_;         // guarded by lifecycle_; null once closed
  id_generator ids_;

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::vector<queued> queue_;  // guarded by queue_mutex_
  bool stopping_ = false;      // guarded by queue_mutex_
  std::thread writer_;

  std::mutex dispatcher_mutex_;
  int dispatcher_lock_fd_ = -1;                       // guarded by dispatcher_mutex_
  std::unique_ptr<dispatch::dispatcher> dispatcher_;  // guarded by dispatcher_mutex_
};

}  // namespace protekt
