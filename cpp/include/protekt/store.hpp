// Where the engine keeps endpoints, events and deliveries. The engine talks to this
// interface only; lmdb_store (cpp/src/storage) implements it in one directory, and a
// distributed backend can implement it later.
//
// Every method is thread-safe and may be called from several processes sharing one
// store. Methods THROW storage_error when the medium fails; nothing committed before
// is lost.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protekt/endpoint.hpp"
#include "protekt/events.hpp"
#include "protekt/ids.hpp"

namespace protekt {

enum class delivery_status : std::uint8_t {  // docs/storage.md, "deliveries"
  pending = 0,                               // waiting for its due time
  in_flight = 1,                             // leased by a dispatcher
  succeeded = 2,                             // a 2xx answer
  failed = 3,                                // retries exhausted, no dead-letter queue
  dead_lettered = 4,                         // retries exhausted, kept for replay
  cancelled = 5,                             // its endpoint was deleted or disabled
};

std::string_view to_string(delivery_status status);

// The shaped body of an event for endpoints with one payload configuration.
inline constexpr std::uint8_t kFullEnvelope = 0xff;  // shape: the envelope itself

struct delivery {
  id128 event;
  id128 endpoint;
  delivery_status status = delivery_status::pending;
  std::uint8_t shape = kFullEnvelope;  // index into the event's bodies
  std::uint16_t attempts = 0;
  std::uint16_t retry_base = 0;  // attempts made before its last replay
  std::int64_t created_ms = 0;
  std::int64_t due_ms = 0;  // next attempt; 0 once finished
  std::int64_t lease_until_ms = 0;
  std::int64_t completed_ms = 0;
  std::int32_t last_status = 0;  // HTTP status of the last attempt, or 0
};

// One attempt at a delivery, as the attempt log keeps it.
struct attempt {
  std::uint16_t number = 0;  // 1 for the first attempt
  std::int64_t started_ms = 0;
  std::int32_t duration_ms = 0;
  std::int32_t status = 0;       // HTTP status, or 0 when no response came
  std::string error_class;       // "" for a response; "timeout", "tls", "refused", ...
  std::string error;             // what went wrong, for people
  std::string response_excerpt;  // the first kMaxExcerpt bytes of the response body
};

inline constexpr std::size_t kMaxExcerpt = 1024;

// One event to append, as emit() built it.
struct emit_request {
  id128 id;
  std::string type;
  std::int64_t created_ms = 0;
  std::string envelope;         // the full JSON envelope
  event_data data;              // its data members, for shaping
  std::string idempotency_key;  // empty for none
  std::optional<id128> target;  // an engine event for one endpoint only
};

// What appending decided for one event.
struct emit_outcome {
  id128 event;             // the new event, or the earlier one for a repeated key
  bool duplicate = false;  // an idempotency key seen within its window
  std::size_t deliveries = 0;
};

// Bodies and deliveries for one event: what the fan-out decided, inside the
// transaction that stores them.
struct fanout {
  std::vector<std::string> bodies;  // shaped bodies; a delivery's shape indexes them
  std::vector<delivery> deliveries;
};

using fanout_planner =
    std::function<fanout(const emit_request&, std::span<const endpoint>)>;

struct stored_event {
  id128 id;
  std::string type;
  std::int64_t created_ms = 0;
  std::string envelope;
  std::uint32_t pending = 0;     // deliveries not finished yet
  std::int64_t finished_ms = 0;  // when the last one finished; 0 while pending
};

// A page of the dead-letter queue.
struct dead_letter_page {
  std::vector<delivery> letters;
  std::string next;  // continues the listing (opaque); empty at its end
};

// How an endpoint's deliveries have fared lately, from the attempt log.
struct endpoint_health {
  std::int64_t failing_since_ms = 0;  // first failure since the last success; 0 if none
  std::int64_t last_success_ms = 0;
  std::int64_t last_failure_ms = 0;
  // The last failed attempt: its HTTP status (0 when no response came), error class
  // ("" for a response) and what went wrong, at last_failure_ms.
  std::int32_t last_error_status = 0;
  std::string last_error_class;
  std::string last_error;
};

// Which deliveries a listing of the delivery log takes.
struct delivery_filter {
  std::optional<id128> endpoint;          // nullopt: every endpoint's
  std::string event_type;                 // empty: any
  std::optional<delivery_status> status;  // nullopt: any
  std::int64_t since_ms = 0;              // events created at or after; 0: no bound
  std::int64_t until_ms = 0;              // events created before; 0: no bound
};

// A page of the delivery log, newest event first.
struct delivery_log_page {
  std::vector<delivery> deliveries;
  std::vector<std::string> event_types;  // of each delivery, in step with them
  std::string next;  // continues the listing (opaque); empty at its end
};

// Upper bounds of the latency histogram's buckets, in ms; a last bucket takes the
// rest. Durations of attempts that got an HTTP response.
inline constexpr std::array<std::int64_t, 11> kLatencyBoundsMs = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

// What has happened at an endpoint since it was created; counts only grow.
struct endpoint_counters {
  std::uint64_t deliveries = 0;  // created for it
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;  // retries ran out, no dead-letter queue
  std::uint64_t dead_lettered = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t attempts = 0;
  std::uint64_t failed_attempts = 0;  // no 2xx answer
  std::uint64_t retries = 0;          // attempts after a delivery's first
  std::uint64_t latency_sum_ms = 0;
  std::array<std::uint64_t, kLatencyBoundsMs.size() + 1> latency{};  // per bucket
};

// Changes an endpoint's pending notice (the failure notification not sent yet)
// inside a write transaction: gets the stored one, returns what to store instead
// (nullopt removes it). May be called again if the transaction is retried.
using notice_change =
    std::function<std::optional<std::string>(const std::optional<std::string>&)>;

// One attempt's outcome, for store::record_outcomes.
struct outcome_record {
  delivery updated;
  std::optional<attempt> tried;  // none for a delivery cancelled without a request
  // For an attempt that failed for good: the change to its endpoint's notice, so that
  // no failure goes unreported. Empty: the notice is left alone.
  notice_change notice;
};

struct sweep_rules {
  std::int64_t now_ms = 0;
  std::int64_t retention_ms = 0;     // finished events older than this go
  std::int64_t idempotency_ms = 0;   // keys older than this are forgotten
  std::size_t max_removals = 10000;  // per call, to bound one transaction
};

struct sweep_result {
  std::size_t events = 0;
  std::size_t idempotency_keys = 0;
  bool more = false;  // max_removals was reached
};

class store {
 public:
  virtual ~store() = default;

  // ---- endpoints
  virtual std::vector<endpoint> list_endpoints() = 0;
  virtual std::optional<endpoint> find_endpoint(const id128& id) = 0;
  // Creates or replaces. The check runs inside the write transaction, against the
  // stored record (nullopt when new), and may throw to refuse the change.
  virtual endpoint update_endpoint(
      const id128& id,
      const std::function<endpoint(const std::optional<endpoint>&)>& change) = 0;
  // Returns false when it did not exist. Its queued deliveries stay queued; the
  // dispatcher cancels each when it finds the endpoint gone.
  virtual bool erase_endpoint(const id128& id) = 0;

  // ---- events
  // Appends every request in one durable transaction, calling planner for each new
  // event with the active endpoints as of that transaction.
  virtual std::vector<emit_outcome> append(std::span<const emit_request> requests,
                                           const fanout_planner& planner) = 0;
  virtual std::optional<stored_event> find_event(const id128& id) = 0;
  virtual std::vector<delivery> deliveries_of(const id128& event) = 0;
  virtual std::optional<std::string> body_of(const id128& event,
                                             std::uint8_t shape) = 0;

  // ---- queue
  // Deliveries due at or before now_ms and not under a lease then, earliest first,
  // without scanning the rest of the queue.
  virtual std::vector<delivery> due(std::int64_t now_ms, std::size_t limit) = 0;
  virtual std::uint64_t pending_count() = 0;
  // When the earliest pending delivery (or lease) is due; nullopt for an empty queue.
  virtual std::optional<std::int64_t> next_due_ms() = 0;
  // Moves on with every endpoint change, in any process sharing the store.
  virtual std::uint64_t config_version() = 0;

  // How many due deliveries a lease may take for an endpoint.
  using room_fn = std::function<std::size_t(const id128& endpoint)>;
  // Takes due deliveries for one dispatcher, endpoint by endpoint: each endpoint's
  // due by now_ms, earliest first, up to room(endpoint) of them and limit in all.
  // Each becomes in_flight until now_ms + lease_ms and is not taken again before
  // then, by this store or another on the same directory, so that the deliveries of a
  // dispatcher that dies are taken again when their lease ends (delivery is at least
  // once). A busy endpoint's backlog stays where it is, and never stands in the way
  // of another endpoint's.
  // With bodies, also reads each delivery's body (as body_of) in the same
  // transaction, in step with the deliveries. Endpoints are visited in id order,
  // starting after the endpoint after when given and coming round to it last, so
  // that a dispatcher that leases from where its last lease ended serves every
  // endpoint in turn when limit binds.
  virtual std::vector<delivery> lease_by_endpoint(
      std::int64_t now_ms, std::int64_t lease_ms, std::size_t limit,
      const room_fn& room, std::vector<std::optional<std::string>>* bodies = nullptr,
      const std::optional<id128>& after = std::nullopt) = 0;

  // Stores a delivery's new state and, when given, the attempt that led to it, in
  // one transaction. updated.due_ms is the next attempt's time while it is pending.
  // A delivery that becomes finished (succeeded, failed, dead-lettered, cancelled)
  // counts down its event's pending deliveries; the last one finishes the event.
  // Returns false when the delivery no longer exists (its event was swept).
  virtual bool record_outcome(const delivery& updated,
                              const std::optional<attempt>& attempt) = 0;

  // Makes the pending deliveries of one endpoint due at due_ms at the latest (they
  // were held while it was paused). Reads the whole due index: for rare operations.
  virtual std::size_t reschedule(const id128& endpoint, std::int64_t due_ms) = 0;

  // Stores many outcomes, each as record_outcome would and with its notice change, in
  // one transaction: a busy dispatcher pays one sync to disk for all of them. Says
  // for each whether its delivery still existed.
  virtual std::vector<bool> record_outcomes(
      std::span<const outcome_record> outcomes) = 0;

  virtual std::optional<delivery> find_delivery(const id128& event,
                                                const id128& endpoint) = 0;
  virtual std::vector<attempt> attempts_of(const id128& event,
                                           const id128& endpoint) = 0;

  // The health of an endpoint: every recorded attempt updates it.
  virtual endpoint_health health_of(const id128& endpoint) = 0;

  // ---- the delivery log and counters
  // Deliveries that pass the filter, newest event first. after: a page's next, or
  // empty for the start. A page examines at most kMaxLogScan entries, so it may
  // hold fewer than limit deliveries and still have a next.
  static constexpr std::size_t kMaxLogScan = 10000;
  virtual delivery_log_page delivery_log(const delivery_filter& filter,
                                         std::size_t limit, std::string_view after) = 0;
  // The newest attempts at an endpoint, up to limit, newest delivery first.
  virtual std::vector<attempt> recent_attempts(const id128& endpoint,
                                               std::size_t limit) = 0;
  // Every endpoint's counters, by endpoint id; endpoints with none are absent.
  virtual std::vector<std::pair<id128, endpoint_counters>> counters() = 0;
  virtual endpoint_counters counters_of(const id128& endpoint) = 0;
  // Events appended since the directory was made (repeated idempotency keys aside).
  virtual std::uint64_t events_emitted() = 0;

  // ---- dead-letter queue: deliveries whose retries ran out at an endpoint that
  // keeps them. Listed oldest first within an endpoint; all endpoints in turn when
  // endpoint is nullopt. after: a page's next, or empty for the start.
  virtual dead_letter_page dead_letters(const std::optional<id128>& endpoint,
                                        std::size_t limit, std::string_view after) = 0;
  virtual std::uint64_t dead_letter_count(const std::optional<id128>& endpoint) = 0;
  // Makes a dead letter pending again, due at now_ms, with a fresh retry budget; its
  // attempt log goes on. False when the delivery is not in the dead-letter queue.
  virtual bool replay(const id128& event, const id128& endpoint,
                      std::int64_t now_ms) = 0;
  // Replays up to limit dead letters in one transaction; returns how many.
  virtual std::size_t replay_all(const std::optional<id128>& endpoint,
                                 std::int64_t now_ms, std::size_t limit) = 0;
  // Ends up to limit dead letters as failed, no longer replayable; returns how many.
  virtual std::size_t purge_dead_letters(const std::optional<id128>& endpoint,
                                         std::size_t limit) = 0;

  // ---- failure notices, one per endpoint at most
  virtual void change_notice(const id128& endpoint, const notice_change& change) = 0;
  virtual std::vector<std::pair<id128, std::string>> notices() = 0;

  // ---- retention
  virtual sweep_result sweep(const sweep_rules& rules) = 0;
};

struct lmdb_store_options {
  std::string directory;
  std::size_t initial_map_size = std::size_t{64} << 20;
  std::size_t max_map_size = std::size_t{1} << 40;
  std::int64_t idempotency_window_ms = 24 * 3600 * 1000;
};

// THROWS storage_error when the directory cannot be opened.
std::unique_ptr<store> open_lmdb_store(const lmdb_store_options& options);

}  // namespace protekt
