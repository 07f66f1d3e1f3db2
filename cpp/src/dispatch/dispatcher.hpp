// Sends due deliveries: leases them from the store, posts them over the HTTP client
// with at most endpoint_concurrency requests per endpoint, and stores each outcome
// with its attempt. A scheduler thread leases; I/O threads send. An endpoint has one
// lane per request it may have in flight; its lanes are spread over the I/O threads,
// each of which runs an I/O context of its own. A busy lane is one coroutine that
// keeps its connection and takes the endpoint's next waiting delivery as soon as a
// response is read, until none waits.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "dispatch/http_client.hpp"
#include "dispatch/notifier.hpp"
#include "dispatch/outcome_writer.hpp"
#include "protekt/dispatcher.hpp"
#include "protekt/signing.hpp"
#include "protekt/store.hpp"

namespace protekt::dispatch {

// The request that delivers body to an endpoint: its URL, content type and timeout,
// and the Standard Webhooks headers (one signature per secret still valid) or the
// API token header. message_id goes into webhook-id.
// THROWS validation_error for a URL that cannot be delivered to.
// keys and url, when given, are config's signer and split URL, made beforehand.
http_request delivery_request(const endpoint& config, const std::string& message_id,
                              std::shared_ptr<const std::string> body,
                              std::int64_t now_ms, const signer* keys = nullptr,
                              const std::pair<origin, std::string>* url = nullptr);

// An endpoint's Standard Webhooks signer for the secrets valid at a moment, and until
// when it holds (the first expiry of a secret in rotation). keys is null for an
// API-token endpoint.
struct endpoint_signer {
  std::shared_ptr<const signer> keys;
  std::int64_t until_ms = std::numeric_limits<std::int64_t>::max();
};
// THROWS validation_error for a stored secret that does not parse.
endpoint_signer signer_for(const endpoint& config, std::int64_t now_ms);

// The HTTP client settings of a dispatcher's options.
client_options client_settings(const dispatcher_options& options);

class dispatcher {
 public:
  // Called when an endpoint answers 410 Gone.
  using disable_fn = std::function<void(const id128& endpoint)>;

  // REQUIRES: this process holds the store's dispatcher lock. Starts its threads.
  dispatcher(store& s, dispatcher_options options, disable_fn disable);
  // Stops (see stop()).
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  // Something new may be due: look now instead of at the next planned time.
  void wake();

  // Releases what waits, lets requests in flight finish for up to stop_grace, then
  // releases the rest for a later dispatcher. Idempotent.
  void stop();

 private:
  // A leased delivery and its body, read in the lease's transaction (null when it
  // was not found: the delivery is then cancelled).
  struct queued {
    delivery d;
    std::shared_ptr<const std::string> body;
  };

  struct endpoint_state {
    std::shared_ptr<const endpoint> config;
    // Each lane runs on one I/O thread's context. Made with the state.
    std::vector<boost::asio::io_context::executor_type> lanes;
    // What each lane is sending; empty while the lane is free.
    std::vector<std::optional<delivery>> in_lane;
    // Requests answered or failed, and how fast lately (per ms, smoothed): the
    // count when last sampled, and when (steady clock, ms; 0 before the first).
    std::uint64_t answered = 0;
    std::uint64_t sampled = 0;
    std::int64_t sampled_ms = 0;
    double rate = 0;
    std::deque<queued> waiting;
    std::size_t in_flight = 0;
    endpoint_signer signing;  // for the configuration signing_for
    // The configuration's URL split once; null when it cannot be delivered to.
    std::shared_ptr<const std::pair<origin, std::string>> url;
    const endpoint* signing_for = nullptr;  // compared only, never dereferenced
  };

  // A request to start once the mutex is released.
  struct launch {
    boost::asio::io_context::executor_type lane_executor;
    std::size_t lane;
    queued next;
    std::shared_ptr<const endpoint> config;
    std::shared_ptr<const signer> keys;
    std::shared_ptr<const std::pair<origin, std::string>> url;
  };

  void run_scheduler();
  // The most deliveries an endpoint holds at once, waiting and in flight: at least
  // least_capacity(), more while it answers fast. REQUIRES: mutex_ held.
  std::size_t capacity_of(const endpoint_state& state) const;
  std::size_t least_capacity() const;
  void refresh_endpoints();
  // The endpoint's state, made with its lanes when it is new. REQUIRES: mutex_ held.
  endpoint_state& state_of(const id128& id);
  // The endpoint's settings for a leased delivery. THROWS storage_error.
  std::shared_ptr<const endpoint> config_of(const id128& id);
  // Queues a leased delivery for its endpoint (config: as config_of gave it), or
  // says how to store it instead: cancelled (its endpoint is gone or disabled) or
  // back in the queue for later. REQUIRES: mutex_ held.
  std::optional<outcome_record> route(const delivery& d,
                                      std::shared_ptr<const std::string> body,
                                      const std::shared_ptr<const endpoint>& config);
  // Takes waiting deliveries into free lanes, to be started by start().
  void pump(endpoint_state& state, std::vector<launch>& out);  // REQUIRES: mutex_ held
  // Takes the first waiting delivery into a free lane. REQUIRES: mutex_ held, and a
  // delivery waiting.
  launch assign(endpoint_state& state, std::size_t lane);
  // Starts a lane for each launch; a lane may run on this thread at once, so mutex_
  // must not be held.
  void start(std::vector<launch>& launches);
  // Sends the launch's delivery, then each one its endpoint queues for the lane,
  // until none waits.
  boost::asio::awaitable<void> run_lane(launch first);
  // Sends one delivery over kept's connection and queues its outcome.
  boost::asio::awaitable<void> deliver(launch& l, kept_connection& kept);
  // Frees the lane a request ran in, and gives it the next delivery waiting if any.
  std::optional<launch> finished(const delivery& d, std::size_t lane);
  delivery decide(const delivery& d, const endpoint& config, const http_response& r,
                  std::int64_t now_ms);
  // Puts leased deliveries back in the queue, due at due_ms, in one transaction.
  void release(const std::vector<delivery>& deliveries, std::int64_t due_ms);
  // Queues the outcome of an attempt for the outcome writer; a delivery that failed
  // for good goes into its endpoint's notice in the same transaction.
  void record(const delivery& next, attempt a, std::shared_ptr<const endpoint> config,
              bool gone);
  // The change to an endpoint's notice that reports a delivery failed for good.
  notice_change failure_notice(const delivery& next, const attempt& a, bool gone);
  // Disables an endpoint whose attempts have all failed for disable_after.
  void check_failing(const endpoint& config, std::int64_t now_ms);

  store& store_;
  const dispatcher_options options_;
  const disable_fn disable_;

  // One context per I/O thread, run by that thread alone: an endpoint's lanes are
  // spread over them, and no request's work passes from one thread to another. The
  // client's pooled connections live on them, so they are made before the client
  // and destroyed after it.
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_;
  http_client client_;
  notifier notifier_;
  // Declared after what its callbacks use (notifier_), so it is flushed before those
  // are destroyed.
  outcome_writer outcomes_;
  std::vector<std::thread> io_threads_;
  std::thread scheduler_;

  std::mutex mutex_;
  std::condition_variable changed_;
  bool woken_ = false;  // guarded by mutex_
  bool starved_ =
      false;  // guarded by mutex_: the last lease left some for lack of room
  // guarded by mutex_: the last lease stopped at max_in_flight
  bool full_ = false;
  bool stopping_ = false;      // guarded by mutex_
  std::size_t waiting_ = 0;    // guarded by mutex_: in every endpoint's waiting
  std::size_t in_flight_ = 0;  // guarded by mutex_
  std::map<id128, endpoint_state> endpoints_;         // guarded by mutex_
  std::size_t next_context_ = 0;                      // guarded by mutex_
  std::uint64_t config_version_ = ~std::uint64_t{0};  // scheduler thread only
  std::optional<id128> lease_after_;  // scheduler thread only: the last served
  std::mt19937_64 random_{std::random_device{}()};  // guarded by mutex_
};

}  // namespace protekt::dispatch
