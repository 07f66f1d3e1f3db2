#include "dispatch/dispatcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <set>

#include "common/json_text.hpp"
#include "common/threads.hpp"
#include "protekt/error.hpp"
#include "protekt/log.hpp"
#include "protekt/retry.hpp"
#include "protekt/signing.hpp"

namespace protekt::dispatch {
namespace {

namespace asio = boost::asio;

constexpr std::string_view kUserAgent = "Protekt-Webhooks/" PROTEKT_VERSION;

// An endpoint holds, waiting in memory and in flight, what it gets through in
// kBufferMs at the rate it has been answering lately: a fast endpoint never runs dry
// while the next lease commits, and a slow one holds no lease others need. That is
// at least kMinWaitingPerSlot and at most kMaxWaitingPerSlot waiting per request it
// may have in flight; a lease leaves the rest of its due deliveries in the queue.
constexpr std::size_t kMinWaitingPerSlot = 8;
constexpr std::size_t kMaxWaitingPerSlot = 128;
constexpr double kBufferMs = 50;
// The answer rate is measured over at least this long, and smoothed.
constexpr std::int64_t kRateSampleMs = 10;
constexpr std::int64_t kDeferMs = 1000;
// While due deliveries wait for room at their endpoint, the scheduler looks again
// this often for others that came due meanwhile (and when room frees up).
constexpr std::int64_t kStarvedRecheckMs = 100;

std::int64_t now_ms() {
  return unix_now_ms();
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One I/O context per thread the options ask for (one per core by default).
std::vector<std::unique_ptr<asio::io_context>> make_contexts(
    const dispatcher_options& options) {
  std::size_t threads = options.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (std::size_t i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
  }
  return contexts;
}

// A leased delivery back in the queue, pending and due at due_ms.
outcome_record put_back(const delivery& d, std::int64_t due_ms) {
  delivery back = d;
  back.status = delivery_status::pending;
  back.due_ms = due_ms;
  back.lease_until_ms = 0;
  return {back, std::nullopt, {}};
}

// What an attempt came to, for the log: "HTTP 500" or the error class and text.
std::string attempt_summary(const attempt& a) {
  if (a.error_class.empty()) return "HTTP " + std::to_string(a.status);
  return a.error_class + ": " + a.error;
}

// One log line per outcome: a delivery at debug, a retry at info, a delivery that
// failed for good at warning. Ids only; never a body or a header.
void log_outcome(const delivery& next, const attempt& a) {
  const auto names = [&] {
    return next.event.to_string(kEventPrefix) + " to " +
           next.endpoint.to_string(kEndpointPrefix);
  };
  switch (next.status) {
    case delivery_status::succeeded:
      log(log_level::debug, [&] {
        return "delivered " + names() + " (" + attempt_summary(a) + ", " +
               std::to_string(a.duration_ms) + " ms, attempt " +
               std::to_string(a.number) + ")";
      });
      break;
    case delivery_status::pending:
      log(log_level::info, [&] {
        return "attempt " + std::to_string(a.number) + " of " + names() + " failed (" +
               attempt_summary(a) + "); next attempt in " +
               std::to_string((next.due_ms - a.started_ms) / 1000) + " s";
      });
      break;
    case delivery_status::failed:
    case delivery_status::dead_lettered:
      log(log_level::warning, [&] {
        return "delivery of " + names() + " failed for good after " +
               std::to_string(next.attempts) + " attempts (" + attempt_summary(a) +
               (next.status == delivery_status::dead_lettered
                    ? "); moved to the dead-letter queue"
                    : "); marked failed");
      });
      break;
    default: break;
  }
}

// The headers that authenticate a delivery: Standard Webhooks signatures by every
// secret still valid (the current one first), or the API token.
void add_auth_headers(http_request& request, const endpoint& config,
                      const std::string& id, std::int64_t now, const signer* keys) {
  if (const auto* token = std::get_if<api_token_auth>(&config.auth)) {
    request.headers.emplace_back(token->header, token->value);
    return;
  }
  const std::int64_t timestamp = now / 1000;
  request.headers.emplace_back(std::string(kIdHeader), id);
  request.headers.emplace_back(std::string(kTimestampHeader),
                               std::to_string(timestamp));
  const auto sign = [&](const signer& s) {
    return s.sign(id, timestamp,
                  request.body ? std::string_view(*request.body) : std::string_view());
  };
  request.headers.emplace_back(
      std::string(kSignatureHeader),
      keys ? sign(*keys) : sign(*signer_for(config, now).keys));
}

}  // namespace

endpoint_signer signer_for(const endpoint& config, std::int64_t now_ms) {
  endpoint_signer result;
  const auto* shared = std::get_if<shared_secret_auth>(&config.auth);
  if (shared == nullptr) return result;
  std::vector<signing_key> keys;
  for (const endpoint_secret& s : shared->secrets) {
    if (s.expires_ms && *s.expires_ms <= now_ms) continue;
    keys.emplace_back(hmac_key::parse(s.secret));
    if (s.expires_ms) result.until_ms = std::min(result.until_ms, *s.expires_ms);
  }
  result.keys = std::make_shared<const signer>(keys);
  return result;
}

client_options client_settings(const dispatcher_options& o) {
  client_options c;
  c.connect_timeout = o.connect_timeout;
  c.ssrf = ssrf_policy(o.allowed_networks);
  c.ca_file = o.ca_file;
  // Endpoints at one origin (paths of one receiver) share its connections: as many
  // may stay open as requests may be in flight, so that a fan-out to many of them
  // reuses its connections instead of opening new ones.
  c.max_idle_per_origin = std::max(o.endpoint_concurrency, o.max_in_flight);
  c.user_agent = std::string(kUserAgent);
  return c;
}

http_request delivery_request(const endpoint& config, const std::string& message_id,
                              std::shared_ptr<const std::string> body,
                              std::int64_t now_ms, const signer* keys,
                              const std::pair<origin, std::string>* url) {
  http_request request;
  if (url != nullptr) {
    request.where = url->first;
    request.target = url->second;
  } else {
    std::tie(request.where, request.target) = split_url(config.url);
  }
  request.where.ca_pem = config.ca_bundle;
  request.content_type = config.payload.format == payload_format::form
                             ? "application/x-www-form-urlencoded"
                             : "application/json";
  request.body = std::move(body);
  request.timeout = config.timeout;
  add_auth_headers(request, config, message_id, now_ms, keys);
  return request;
}

dispatcher::dispatcher(store& s, dispatcher_options options, disable_fn disable)
    : store_(s),
      options_(std::move(options)),
      disable_(std::move(disable)),
      contexts_(make_contexts(options_)),
      client_(client_settings(options_)),
      notifier_(s, options_.notifications, client_settings(options_)),
      outcomes_(s) {
  for (const auto& context : contexts_) {
    work_.push_back(asio::make_work_guard(*context));
    io_threads_.emplace_back([&io = *context, n = io_threads_.size()] {
      detail::mark_this_thread_batch();
      detail::name_this_thread("protekt-io-" + std::to_string(n));
      io.run();
    });
  }
  scheduler_ = std::thread([this] {
    detail::mark_this_thread_batch();
    detail::name_this_thread("protekt-lease");
    run_scheduler();
  });
  log(log_level::info, [&] {
    return "dispatcher started: " + std::to_string(contexts_.size()) +
           " I/O threads, " + std::to_string(options_.endpoint_concurrency) +
           " requests in flight per endpoint at most";
  });
}

dispatcher::~dispatcher() {
  stop();
}

void dispatcher::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  changed_.notify_all();
}

void dispatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !scheduler_.joinable()) return;
    stopping_ = true;
  }
  changed_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  notifier_.stop();

  // What waits goes back at once; what is in flight may finish within the grace.
  std::vector<delivery> waiting;
  {
    std::unique_lock lock(mutex_);
    for (auto& [id, state] : endpoints_) {
      for (const queued& q : state.waiting) waiting.push_back(q.d);
      state.waiting.clear();
      waiting_ = 0;
    }
    changed_.wait_for(lock, options_.stop_grace, [this] { return in_flight_ == 0; });
  }
  release(waiting, now_ms());

  work_.clear();
  for (const auto& context : contexts_) context->stop();
  for (std::thread& t : io_threads_) t.join();
  io_threads_.clear();
  outcomes_.flush();

  // Requests cut short: their deliveries are due again now, for whoever dispatches.
  std::vector<delivery> cut;
  for (auto& [id, state] : endpoints_) {
    for (std::optional<delivery>& sending : state.in_lane) {
      if (sending) cut.push_back(*sending);
      sending.reset();
    }
  }
  release(cut, now_ms());
  log(log_level::info, [&] {
    return "dispatcher stopped; " + std::to_string(waiting.size() + cut.size()) +
           " deliveries released for a later dispatcher";
  });
}

void dispatcher::run_scheduler() {
  while (true) {
    refresh_endpoints();
    std::size_t free = 0;
    std::map<id128, std::size_t> room;  // at each active endpoint, for this lease
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      const std::size_t held = in_flight_ + waiting_;
      const std::int64_t now = steady_ms();
      for (auto& [id, state] : endpoints_) {
        if (now - state.sampled_ms >= kRateSampleMs) {
          const double rate = static_cast<double>(state.answered - state.sampled) /
                              static_cast<double>(now - state.sampled_ms);
          state.rate = state.sampled_ms == 0 ? 0 : (state.rate + rate) / 2;
          state.sampled = state.answered;
          state.sampled_ms = now;
        }
        if (!state.config || state.config->status != endpoint_status::active) continue;
        const std::size_t load = state.waiting.size() + state.in_flight;
        const std::size_t capacity = capacity_of(state);
        room[id] = capacity > load ? capacity - load : 0;
      }
      free = options_.max_in_flight > held ? options_.max_in_flight - held : 0;
    }

    // Lease what is due, as far as its endpoint has room for it. Deliveries of
    // endpoints that are not active are taken to be cancelled or put back.
    std::size_t leased = 0;
    std::map<id128, std::size_t> offered;  // room left at each active endpoint asked
    const auto room_at = [&](const id128& endpoint) {
      const auto it = room.find(endpoint);
      if (it == room.end()) return least_capacity();
      offered[endpoint] = it->second;
      return it->second;
    };
    try {
      std::vector<outcome_record> put_back;
      std::vector<std::optional<std::string>> bodies;
      std::vector<delivery> taken;
      if (free > 0) {
        taken = store_.lease_by_endpoint(now_ms(), options_.lease.count(), free,
                                         room_at, &bodies, lease_after_);
        // The next lease starts with the endpoints this one did not reach.
        if (!taken.empty()) lease_after_ = taken.back().endpoint;
      }

      // Each endpoint's settings are looked up once per lease, and the whole lease
      // is queued under one lock; its first requests start once that is released.
      std::map<id128, std::shared_ptr<const endpoint>> configs;
      for (const delivery& d : taken) {
        if (const auto [it, fresh] = configs.try_emplace(d.endpoint); fresh) {
          it->second = config_of(d.endpoint);
        }
      }
      std::vector<launch> launches;
      {
        std::lock_guard lock(mutex_);
        std::set<id128> routed;  // endpoints with deliveries queued by this lease
        for (std::size_t i = 0; i < taken.size(); ++i) {
          const delivery& d = taken[i];
          auto body = bodies[i]
                          ? std::make_shared<const std::string>(std::move(*bodies[i]))
                          : nullptr;
          if (auto back = route(d, std::move(body), configs[d.endpoint])) {
            put_back.push_back(std::move(*back));
          } else {
            routed.insert(d.endpoint);
          }
          if (const auto it = offered.find(d.endpoint); it != offered.end()) {
            --it->second;
          }
          ++leased;
        }
        for (const id128& endpoint : routed) pump(state_of(endpoint), launches);
      }
      start(launches);
      if (!put_back.empty()) store_.record_outcomes(put_back);
    } catch (const error& e) {
      // The store failed (disk, permissions); try again after a pause.
      log(log_level::error,
          [&] { return std::string("could not take due deliveries: ") + e.what(); });
    }

    // An endpoint that took all the room it had may have more due: it is served
    // again once it has room for a batch, not one delivery at a time.
    // The same holds for the dispatcher as a whole once max_in_flight binds.
    const bool starved = std::any_of(offered.begin(), offered.end(),
                                     [](const auto& o) { return o.second == 0; });
    const bool full = leased == free;

    // Sleep until the next due time, a wake-up, room at a full endpoint (or in the
    // dispatcher), or idle_wait. Due deliveries left for lack of room are not a
    // reason to wake.
    std::int64_t wait_ms = options_.idle_wait.count();
    if (starved || full) {
      wait_ms = std::min(wait_ms, kStarvedRecheckMs);
    } else {
      try {
        if (const auto next = store_.next_due_ms()) {
          wait_ms = std::clamp<std::int64_t>(*next - now_ms(), 0, wait_ms);
        }
      } catch (const error&) {
      }
    }
    std::unique_lock lock(mutex_);
    starved_ = starved;
    full_ = full;
    changed_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                      [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

void dispatcher::refresh_endpoints() {
  std::uint64_t version = 0;
  std::vector<endpoint> all;
  try {
    version = store_.config_version();
    if (version == config_version_) return;
    all = store_.list_endpoints();
  } catch (const error&) {
    return;
  }
  config_version_ = version;

  std::lock_guard lock(mutex_);
  std::map<id128, std::shared_ptr<const endpoint>> fresh;
  for (endpoint& e : all) fresh[e.id] = std::make_shared<const endpoint>(std::move(e));
  for (auto& [id, state] : endpoints_) {
    const auto it = fresh.find(id);
    state.config = it == fresh.end() ? nullptr : it->second;
  }
  for (auto& [id, config] : fresh) state_of(id).config = config;
}

dispatcher::endpoint_state& dispatcher::state_of(const id128& id) {
  endpoint_state& state = endpoints_[id];
  if (state.lanes.empty()) {
    const std::size_t n = std::max<std::size_t>(1, options_.endpoint_concurrency);
    // Endpoints start on different threads, so that endpoints with one lane each
    // spread over them too.
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = (next_context_ + i) % contexts_.size();
      state.lanes.push_back(contexts_[at]->get_executor());
    }
    next_context_ = (next_context_ + 1) % contexts_.size();
    state.in_lane.resize(n);
  }
  return state;
}

std::shared_ptr<const endpoint> dispatcher::config_of(const id128& id) {
  {
    std::lock_guard lock(mutex_);
    const auto it = endpoints_.find(id);
    if (it != endpoints_.end() && it->second.config &&
        it->second.config->status == endpoint_status::active) {
      return it->second.config;
    }
  }

  // The snapshot may be older than the lease (an endpoint made or resumed since):
  // a decision not to send is taken on the endpoint as stored now.
  std::optional<endpoint> stored = store_.find_endpoint(id);
  std::shared_ptr<const endpoint> fresh =
      stored ? std::make_shared<const endpoint>(std::move(*stored)) : nullptr;
  std::lock_guard lock(mutex_);
  state_of(id).config = fresh;
  return fresh;
}

std::optional<outcome_record> dispatcher::route(
    const delivery& d, std::shared_ptr<const std::string> body,
    const std::shared_ptr<const endpoint>& config) {
  // Deliveries of deleted or disabled endpoints end here; paused ones wait.
  if (!config || config->status == endpoint_status::disabled) {
    delivery cancelled = d;
    cancelled.status = delivery_status::cancelled;
    cancelled.completed_ms = now_ms();
    return outcome_record{cancelled, std::nullopt, {}};
  }
  endpoint_state& state = state_of(d.endpoint);
  const bool paused = config->status != endpoint_status::active;
  if (paused || state.waiting.size() + state.in_flight >= capacity_of(state)) {
    return put_back(d,
                    now_ms() + (paused ? options_.paused_recheck.count() : kDeferMs));
  }
  state.waiting.push_back({d, std::move(body)});
  ++waiting_;
  return std::nullopt;
}

void dispatcher::pump(endpoint_state& state, std::vector<launch>& out) {
  while (!stopping_ && state.in_flight < options_.endpoint_concurrency &&
         !state.waiting.empty()) {
    const auto free_lane =
        std::find(state.in_lane.begin(), state.in_lane.end(), std::nullopt);
    if (free_lane == state.in_lane.end()) break;
    out.push_back(
        assign(state, static_cast<std::size_t>(free_lane - state.in_lane.begin())));
  }
}

dispatcher::launch dispatcher::assign(endpoint_state& state, std::size_t lane) {
  queued next = std::move(state.waiting.front());
  state.waiting.pop_front();
  --waiting_;
  ++state.in_flight;
  ++in_flight_;
  state.in_lane[lane] = next.d;

  // Keys are parsed and keyed, and the URL split, once per endpoint configuration;
  // the keys again when a secret in rotation expires.
  const std::int64_t now = now_ms();
  if (state.signing_for != state.config.get() || now >= state.signing.until_ms) {
    try {
      state.signing = signer_for(*state.config, now);
    } catch (const error&) {
      // A stored secret that does not parse: the request tries again, and its
      // attempt records why it failed.
      state.signing = {nullptr, now};
    }
    try {
      state.url = std::make_shared<const std::pair<origin, std::string>>(
          split_url(state.config->url));
    } catch (const error&) {
      state.url = nullptr;  // the request fails, and its attempt says why
    }
    state.signing_for = state.config.get();
  }
  return {.lane_executor = state.lanes[lane],
          .lane = lane,
          .next = std::move(next),
          .config = state.config,
          .keys = state.signing.keys,
          .url = state.url};
}

void dispatcher::start(std::vector<launch>& launches) {
  for (launch& l : launches) {
    const auto executor = l.lane_executor;
    asio::co_spawn(executor, run_lane(std::move(l)), asio::detached);
  }
  launches.clear();
}

asio::awaitable<void> dispatcher::run_lane(launch first) {
  // The lane sends while its endpoint has deliveries waiting, over a connection of
  // its own; then the connection goes to the pool and the coroutine ends.
  kept_connection kept;
  std::optional<launch> next = std::move(first);
  while (next) {
    const delivery d = next->next.d;
    co_await deliver(*next, kept);
    next = finished(d, next->lane);
  }
  client_.keep_idle(kept);
}

asio::awaitable<void> dispatcher::deliver(launch& l, kept_connection& kept) {
  const delivery& d = l.next.d;
  const std::int64_t started = now_ms();
  if (!l.next.body) {
    delivery cancelled = d;
    cancelled.status = delivery_status::cancelled;
    cancelled.completed_ms = started;
    outcomes_.push({cancelled, std::nullopt, {}});
    co_return;
  }
  http_response response;
  try {
    response = co_await client_.send(
        delivery_request(*l.config, d.event.to_string(kEventPrefix), l.next.body,
                         started, l.keys.get(), l.url.get()),
        kept);
  } catch (const std::exception& e) {
    response.error_class = "internal";
    response.error = e.what();
  }

  // The attempt and the delivery's next state are stored together.
  attempt a;
  a.number = static_cast<std::uint16_t>(d.attempts + 1);
  a.started_ms = started;
  a.duration_ms = static_cast<std::int32_t>(response.duration.count());
  a.status = response.status;
  a.error_class = response.error_class;
  a.error = response.error;
  a.response_excerpt = response.excerpt.substr(0, kMaxExcerpt);
  const delivery next = decide(d, *l.config, response, now_ms());
  const bool gone = response.answered() && response.status == 410;
  try {
    record(next, std::move(a), l.config, gone);
  } catch (const error&) {
    // Not stored: the lease runs out and the delivery is made again (at least once).
  }
}

void dispatcher::record(const delivery& next, attempt a,
                        std::shared_ptr<const endpoint> config, bool gone) {
  const bool notify = (next.status == delivery_status::failed ||
                       next.status == delivery_status::dead_lettered) &&
                      config->notification.kind != notification_kind::none;
  notice_change notice;
  if (notify) notice = failure_notice(next, a, gone);

  // What follows the outcome reads what it stored, so it runs once that is committed.
  const bool succeeded = next.status == delivery_status::succeeded;
  log_outcome(next, a);
  outcomes_.push(
      {next, std::move(a), std::move(notice)},
      [this, config = std::move(config), gone, succeeded, notify](bool stored) {
        if (!stored) return;
        if (notify) notifier_.wake();
        if (gone && disable_) {
          log(log_level::warning, [&] {
            return "endpoint " + config->id.to_string(kEndpointPrefix) +
                   " answered 410 Gone and is disabled";
          });
          disable_(config->id);
        } else if (!succeeded) {
          check_failing(*config, now_ms());
        }
      });
}

notice_change dispatcher::failure_notice(const delivery& next, const attempt& a,
                                         bool gone) {
  failure_report report;
  report.event = next.event;
  if (const auto event = store_.find_event(next.event)) report.event_type = event->type;
  report.attempts = next.attempts;
  report.status = a.status;
  report.error_class = a.error_class;
  report.error = a.error;
  report.dead_lettered = next.status == delivery_status::dead_lettered;
  report.at_ms = next.completed_ms;
  return [report, gone, at = next.completed_ms,
          settings = options_.notifications](const std::optional<std::string>& notice) {
    std::string changed = add_failure(notice, report, at, settings);
    if (gone) changed = add_disabled(changed, "it answered 410 Gone", at);
    return std::optional<std::string>(std::move(changed));
  };
}

void dispatcher::check_failing(const endpoint& config, std::int64_t now) {
  const std::int64_t period = options_.notifications.disable_after.count();
  if (period <= 0) return;
  const endpoint_health health = store_.health_of(config.id);
  if (health.failing_since_ms == 0) return;
  const std::int64_t since = std::max(health.failing_since_ms, config.activated_ms);
  if (now - since < period) return;

  // Another request may have disabled it already.
  const std::optional<endpoint> stored = store_.find_endpoint(config.id);
  if (!stored || stored->status != endpoint_status::active) return;
  log(log_level::warning, [&] {
    return "endpoint " + config.id.to_string(kEndpointPrefix) +
           " failed every attempt since " + detail::rfc3339_ms(since) +
           " and is disabled";
  });
  if (disable_) disable_(config.id);
  if (config.notification.kind == notification_kind::none) return;
  const std::string reason = "every attempt failed since " + detail::rfc3339_ms(since);
  store_.change_notice(config.id, [&](const std::optional<std::string>& notice) {
    return std::optional<std::string>(add_disabled(notice, reason, now));
  });
  notifier_.wake();
}

delivery dispatcher::decide(const delivery& d, const endpoint& config,
                            const http_response& r, std::int64_t now) {
  delivery next = d;
  next.attempts = static_cast<std::uint16_t>(d.attempts + 1);
  next.last_status = r.status;
  next.lease_until_ms = 0;

  // 2xx delivered; 410 Gone is final (and disables the endpoint).
  if (r.answered() && r.status >= 200 && r.status < 300) {
    next.status = delivery_status::succeeded;
    next.completed_ms = now;
    return next;
  }
  if (r.answered() && r.status == 410) {
    next.status = delivery_status::failed;
    next.completed_ms = now;
    return next;
  }

  // Every other outcome is a failed attempt, retried by the endpoint's policy; 429
  // and 503 may say when.
  // A replayed delivery has its retry budget anew.
  const int counted = next.attempts - d.retry_base;
  if (retries_left(config.retry, counted)) {
    std::optional<std::chrono::milliseconds> wait;
    if (r.status == 429 || r.status == 503)
      wait = parse_retry_after(r.retry_after, now);
    if (!wait) {
      std::lock_guard lock(mutex_);
      const double unit = std::uniform_real_distribution<double>(0, 1)(random_);
      wait = retry_delay(config.retry, counted, unit);
    }
    next.status = delivery_status::pending;
    next.due_ms = now + wait->count();
    return next;
  }
  next.status = config.dead_letter_queue ? delivery_status::dead_lettered
                                         : delivery_status::failed;
  next.completed_ms = now;
  return next;
}

std::optional<dispatcher::launch> dispatcher::finished(const delivery& d,
                                                       std::size_t lane) {
  bool wake = false;
  std::optional<launch> again;
  std::vector<launch> others;
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
    auto it = endpoints_.find(d.endpoint);
    if (it != endpoints_.end()) {
      endpoint_state& state = it->second;
      --state.in_flight;
      ++state.answered;
      state.in_lane[lane].reset();
      // The lane goes on with the next delivery waiting, if any.
      if (!stopping_ && !state.waiting.empty()) again = assign(state, lane);
      pump(state, others);

      // A lease left deliveries behind for lack of room: take more once this
      // endpoint has room for a batch of them, not one at a time.
      if (starved_ && !woken_ &&
          4 * (state.waiting.size() + state.in_flight) <= capacity_of(state)) {
        woken_ = true;
        wake = true;
      }
    }
    // The same for the dispatcher as a whole, against max_in_flight.
    if (full_ && !woken_ && 4 * (in_flight_ + waiting_) <= options_.max_in_flight) {
      woken_ = true;
      wake = true;
    }
    // stop() waits for the last request in flight.
    wake = wake || (stopping_ && in_flight_ == 0);
  }
  // Waking the scheduler for nothing costs two task switches per delivery.
  if (wake) changed_.notify_all();
  start(others);
  return again;
}

std::size_t dispatcher::least_capacity() const {
  return (kMinWaitingPerSlot + 1) * options_.endpoint_concurrency;
}

std::size_t dispatcher::capacity_of(const endpoint_state& state) const {
  const auto wanted = static_cast<std::size_t>(state.rate * kBufferMs);
  return std::clamp(wanted, least_capacity(),
                    (kMaxWaitingPerSlot + 1) * options_.endpoint_concurrency);
}

void dispatcher::release(const std::vector<delivery>& deliveries, std::int64_t due_ms) {
  std::vector<outcome_record> back;
  for (const delivery& d : deliveries) back.push_back(put_back(d, due_ms));
  try {
    if (!back.empty()) store_.record_outcomes(back);
  } catch (const error&) {
    // Left leased: they come back when their leases end.
  }
}

}  // namespace protekt::dispatch
