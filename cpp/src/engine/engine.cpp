#include "protekt/engine.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/threads.hpp"
#include "dispatch/dispatcher.hpp"
#include "engine/shaping.hpp"
#include "protekt/error.hpp"
#include "protekt/keys.hpp"
#include "protekt/log.hpp"

namespace protekt {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxSecrets = 5;  // current plus those in their grace period
constexpr std::size_t kMaxIdempotencyKey = 255;
constexpr std::string_view kDispatcherLockFile = "dispatcher.lock";

// How long the writer waits for the callers of its last batch to gather again: well
// under one disk sync, so a commit is never delayed by more than a fraction of one.
constexpr auto kGatherWait = std::chrono::microseconds(200);

// Fields that change only through their own operations.
constexpr std::array<const char*, 5> kFixedFields = {"id", "status", "created_ms",
                                                     "updated_ms", "verification"};

[[noreturn]] void refuse(const std::string& field, const std::string& message) {
  throw validation_error(field, field + ": " + message);
}

void ensure_secret(endpoint& e) {
  auto* secret = std::get_if<shared_secret_auth>(&e.auth);
  if (secret != nullptr && secret->secrets.empty()) {
    secret->secrets.push_back({hmac_key::generate().to_string(), std::nullopt});
  }
}

}  // namespace

// ---- emit_ticket -----------------------------------------------------------------

bool emit_ticket::ready() const {
  std::lock_guard lock(mutex_);
  return ready_;
}

emit_outcome emit_ticket::wait() const {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return ready_; });
  if (error_) std::rethrow_exception(error_);
  return outcome_;
}

bool emit_ticket::wait_for(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return done_.wait_for(lock, timeout, [this] { return ready_; });
}

void emit_ticket::on_ready(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex_);
    if (!ready_) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

void emit_ticket::complete(const emit_outcome& outcome) {
  std::unique_lock lock(mutex_);
  outcome_ = outcome;
  finish(lock);
}

void emit_ticket::fail(std::exception_ptr error) {
  std::unique_lock lock(mutex_);
  error_ = std::move(error);
  finish(lock);
}

void emit_ticket::finish(std::unique_lock<std::mutex>& lock) {
  ready_ = true;
  std::vector<std::function<void()>> callbacks;
  callbacks.swap(callbacks_);
  lock.unlock();
  done_.notify_all();
  for (const auto& callback : callbacks) callback();
}

// ---- engine: lifecycle -----------------------------------------------------------

engine::engine(engine_options options) : options_(std::move(options)) {
  if (options_.max_batch == 0) refuse("max_batch", "must be at least 1");
  store_ =
      open_lmdb_store({options_.directory, options_.initial_map_size,
                       options_.max_map_size, options_.idempotency_window.count()});
  writer_ = std::thread([this] {
    detail::name_this_thread("protekt-emit");
    run_writer();
  });
  log(log_level::info,
      [&] { return "opened the data directory " + options_.directory; });
}

engine::~engine() {
  close();
}

void engine::close() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_all();

  // The writer commits what is queued before it stops; then calls in progress end,
  // and the store (the directory) is released.
  if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) {
    writer_.join();
  }
  unlock_dispatcher();
  std::unique_lock lock(lifecycle_);
  if (!store_) return;
  store_.reset();
  log(log_level::info,
      [&] { return "closed the data directory " + options_.directory; });
}

std::shared_lock<std::shared_mutex> engine::open_lock() const {
  std::shared_lock lock(lifecycle_);
  if (!store_) throw closed_error("the engine is closed");
  return lock;
}

// ---- engine: endpoints -----------------------------------------------------------

endpoint engine::create_endpoint(const json& spec) {
  const auto open = open_lock();
  for (const char* field : kFixedFields) {
    if (spec.contains(field)) refuse(field, "is set by the engine, not by the caller");
  }
  endpoint e = endpoint_from_json(spec);
  ensure_secret(e);
  e.id = ids_.next(unix_now_ms());
  e.status = endpoint_status::created;
  e.created_ms = e.updated_ms = e.id.timestamp_ms();
  validate(e, {options_.allow_http});
  return store_->update_endpoint(e.id,
                                 [&](const std::optional<endpoint>&) { return e; });
}

endpoint engine::update_endpoint(const id128& id, const json& changes) {
  const auto open = open_lock();
  if (!changes.is_object()) refuse("changes", "must be an object of fields to change");
  for (const char* field : kFixedFields) {
    if (changes.contains(field)) {
      refuse(field, "cannot be changed here; use save, pause, resume or disable");
    }
  }
  return store_->update_endpoint(id, [&](const std::optional<endpoint>& current) {
    if (!current) throw not_found_error("no endpoint " + id.to_string(kEndpointPrefix));
    json merged = *current;
    merged.merge_patch(changes);
    endpoint e = endpoint_from_json(merged);
    ensure_secret(e);

    // A new URL is a new owner to prove: Verify endpoint and Save again.
    if (e.url != current->url) e.status = endpoint_status::created;
    e.updated_ms = unix_now_ms();
    validate(e, {options_.allow_http});
    return e;
  });
}

endpoint engine::store_status(const id128& id, endpoint_action action,
                              bool skip_verification) {
  const auto open = open_lock();
  return store_->update_endpoint(id, [&](const std::optional<endpoint>& current) {
    if (!current) throw not_found_error("no endpoint " + id.to_string(kEndpointPrefix));
    endpoint e = *current;
    const endpoint_status from = e.status;
    using s = endpoint_status;
    switch (action) {
      case endpoint_action::save:
        if (from == s::created || from == s::disabled) {
          if (!skip_verification) {
            refuse("status", "Verify endpoint must succeed before Save webhook");
          }
        }
        e.status = s::active;
        break;
      case endpoint_action::pause:
        if (from != s::active && from != s::paused) {
          refuse("status", "only an active endpoint can be paused; this one is " +
                               std::string(to_string(from)));
        }
        e.status = s::paused;
        break;
      case endpoint_action::resume:
        if (from != s::paused && from != s::active) {
          refuse("status", "only a paused endpoint can be resumed; this one is " +
                               std::string(to_string(from)));
        }
        e.status = s::active;
        break;
      case endpoint_action::disable: e.status = s::disabled; break;
      case endpoint_action::mark_verified:
        if (from == s::created || from == s::disabled) e.status = s::verified;
        break;
    }
    e.updated_ms = unix_now_ms();
    // A failing period counts from here, not from before a pause or a disable.
    if (e.status == s::active && from != s::active) e.activated_ms = e.updated_ms;
    return e;
  });
}

endpoint engine::change_status(const id128& id, endpoint_action action,
                               bool skip_verification) {
  endpoint changed = store_status(id, action, skip_verification);

  // Deliveries held while the endpoint was paused are due again now.
  if (action == endpoint_action::resume || action == endpoint_action::save) {
    const auto open = open_lock();
    if (store_->reschedule(id, unix_now_ms()) > 0) {
      std::lock_guard lock(dispatcher_mutex_);
      if (dispatcher_) dispatcher_->wake();
    }
  }
  return changed;
}

endpoint engine::rotate_secret(const id128& id, const std::string& secret,
                               std::optional<std::chrono::milliseconds> grace) {
  const auto open = open_lock();
  const std::string next = secret.empty() ? hmac_key::generate().to_string()
                                          : hmac_key::parse(secret).to_string();
  const auto grace_ms = grace.value_or(options_.secret_grace).count();
  if (grace_ms < 0) refuse("grace", "cannot be negative");

  return store_->update_endpoint(id, [&](const std::optional<endpoint>& current) {
    if (!current) throw not_found_error("no endpoint " + id.to_string(kEndpointPrefix));
    endpoint e = *current;
    auto* auth = std::get_if<shared_secret_auth>(&e.auth);
    if (auth == nullptr) {
      refuse("auth", "this endpoint authenticates with an API token, not a secret");
    }

    // The current secret stays valid for the grace period; expired ones go.
    const std::int64_t now = unix_now_ms();
    std::vector<endpoint_secret> secrets{{next, std::nullopt}};
    for (endpoint_secret old : auth->secrets) {
      if (!old.expires_ms) old.expires_ms = now + grace_ms;
      if (*old.expires_ms > now && secrets.size() < kMaxSecrets) {
        secrets.push_back(std::move(old));
      }
    }
    auth->secrets = std::move(secrets);
    e.updated_ms = now;
    return e;
  });
}

bool engine::delete_endpoint(const id128& id) {
  const auto open = open_lock();
  return store_->erase_endpoint(id);
}

std::optional<endpoint> engine::find_endpoint(const id128& id) {
  const auto open = open_lock();
  return store_->find_endpoint(id);
}

std::vector<endpoint> engine::list_endpoints() {
  const auto open = open_lock();
  return store_->list_endpoints();
}

// ---- engine: events --------------------------------------------------------------

std::shared_ptr<emit_ticket> engine::emit(std::string type, event_data data,
                                          std::string idempotency_key) {
  if (!is_known_event(type)) {
    refuse("type",
           "unknown event \"" + type + "\"; the events are " + catalogue_list());
  }
  if (is_engine_event(type)) {
    refuse("type", "\"" + type + "\" is sent by the engine itself, not emitted");
  }
  if (data.encoded_size() > options_.max_event_bytes) {
    refuse("data", "encodes to " + std::to_string(data.encoded_size()) +
                       " bytes, more than the limit of " +
                       std::to_string(options_.max_event_bytes));
  }
  if (idempotency_key.size() > kMaxIdempotencyKey) {
    refuse("idempotency_key", "longer than 255 bytes");
  }

  return enqueue(std::move(type), std::move(data), std::move(idempotency_key),
                 std::nullopt);
}

std::shared_ptr<emit_ticket> engine::enqueue(std::string type, event_data data,
                                             std::string idempotency_key,
                                             std::optional<id128> target) {
  // The envelope is built here, on the caller's thread; the writer only stores it.
  const id128 id = ids_.next(unix_now_ms());
  emit_request request{id,    std::move(type), id.timestamp_ms(),
                       {},    std::move(data), std::move(idempotency_key),
                       target};
  request.envelope = detail::build_envelope({id, request.type, request.created_ms},
                                            request.data, kAllMetadata);
  auto ticket = std::make_shared<emit_ticket>(id);
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) throw closed_error("the engine is closed");
    queue_.push_back({std::move(request), ticket});
  }
  queue_ready_.notify_one();
  return ticket;
}

fanout engine::plan(const emit_request& request,
                    std::span<const endpoint> active) const {
  fanout result;
  const unsigned present = detail::present_metadata(request.data);
  std::vector<std::pair<payload_config, std::uint8_t>> shapes;  // built so far

  for (const endpoint& e : active) {
    if (request.target ? e.id != *request.target : !e.subscribed_to(request.type)) {
      continue;
    }

    // Identical shapes are built once; the full JSON envelope is not built at all.
    const payload_config shape{e.payload.format, e.payload.include & present};
    std::uint8_t index = kFullEnvelope;
    if (shape.format == payload_format::form || shape.include != present) {
      const auto known = std::find_if(shapes.begin(), shapes.end(),
                                      [&](const auto& s) { return s.first == shape; });
      if (known != shapes.end()) {
        index = known->second;
      } else {
        std::string body =
            shape.include == present
                ? request.envelope
                : detail::build_envelope({request.id, request.type, request.created_ms},
                                         request.data, shape.include);
        if (shape.format == payload_format::form) body = detail::form_body(body);
        index = static_cast<std::uint8_t>(result.bodies.size());
        result.bodies.push_back(std::move(body));
        shapes.emplace_back(shape, index);
      }
    }

    delivery d;
    d.event = request.id;
    d.endpoint = e.id;
    d.shape = index;
    d.created_ms = d.due_ms = request.created_ms;
    result.deliveries.push_back(d);
  }
  return result;
}

void engine::run_writer() {
  auto next_sweep = std::chrono::steady_clock::now() + options_.sweep_interval;
  std::vector<queued> batch;
  std::size_t last_batch = 1;
  while (true) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_ready_.wait_until(lock, next_sweep,
                              [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;

      // The callers of the last batch come back one by one; a short wait lets them
      // share the next commit instead of each paying for one. A lone caller (a last
      // batch of one) never waits.
      if (!queue_.empty() && queue_.size() < last_batch && !stopping_) {
        queue_ready_.wait_for(lock, kGatherWait,
                              [&] { return stopping_ || queue_.size() >= last_batch; });
      }

      // Take what is waiting, up to one batch; the rest waits for the next commit.
      const std::size_t take = std::min(queue_.size(), options_.max_batch);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + take));
      queue_.erase(queue_.begin(), queue_.begin() + take);
    }
    if (!batch.empty()) {
      last_batch = batch.size();
      commit_batch(batch);
      std::lock_guard lock(dispatcher_mutex_);
      if (dispatcher_) dispatcher_->wake();
    }
    if (std::chrono::steady_clock::now() >= next_sweep) {
      bool more = false;
      try {
        more = sweep().more;
      } catch (const error&) {
        // A failed sweep is retried at the next interval; emits are unaffected.
      }

      // A sweep bounded by its removal limit goes on after the next batch.
      next_sweep = std::chrono::steady_clock::now() +
                   (more ? std::chrono::milliseconds(0) : options_.sweep_interval);
    }
  }
}

void engine::commit_batch(std::vector<queued>& batch) {
  std::vector<emit_request> requests;
  requests.reserve(batch.size());
  for (queued& q : batch) requests.push_back(std::move(q.request));

  try {
    const std::vector<emit_outcome> outcomes = store_->append(
        requests, [this](const emit_request& r, std::span<const endpoint> active) {
          return plan(r, active);
        });
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i].ticket->complete(outcomes[i]);
  } catch (...) {
    // Nothing of the batch was stored; every caller learns why.
    const std::exception_ptr error = std::current_exception();
    for (queued& q : batch) q.ticket->fail(error);
  }
  batch.clear();
}

std::optional<stored_event> engine::find_event(const id128& id) {
  const auto open = open_lock();
  return store_->find_event(id);
}

std::vector<delivery> engine::deliveries_of(const id128& event) {
  const auto open = open_lock();
  return store_->deliveries_of(event);
}

std::optional<std::string> engine::body_of(const id128& event, std::uint8_t shape) {
  const auto open = open_lock();
  return store_->body_of(event, shape);
}

std::vector<delivery> engine::due(std::int64_t now_ms, std::size_t limit) {
  const auto open = open_lock();
  return store_->due(now_ms, limit);
}

std::uint64_t engine::pending_count() {
  const auto open = open_lock();
  return store_->pending_count();
}

sweep_result engine::sweep() {
  const auto open = open_lock();
  return store_->sweep(
      {unix_now_ms(), options_.retention.count(), options_.idempotency_window.count()});
}

// ---- engine: dispatcher lock -----------------------------------------------------

bool engine::try_lock_dispatcher() {
  const auto open = open_lock();
  std::lock_guard lock(dispatcher_mutex_);
  if (dispatcher_lock_fd_ >= 0) return true;

  const std::string path = options_.directory + "/" + std::string(kDispatcherLockFile);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw storage_error(errno, "could not open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  dispatcher_lock_fd_ = fd;
  return true;
}

bool engine::start_dispatcher(dispatcher_options options) {
  if (options.allowed_networks.empty())
    options.allowed_networks = options_.allowed_networks;
  if (options.ca_file.empty()) options.ca_file = options_.ca_file;
  options.notifications = options_.notifications;
  if (options.endpoint_concurrency == 0) refuse("concurrency", "must be at least 1");
  if (options.max_in_flight == 0) refuse("max_in_flight", "must be at least 1");
  if (!try_lock_dispatcher()) return false;
  const auto open = open_lock();
  std::lock_guard lock(dispatcher_mutex_);
  if (!dispatcher_) {
    dispatcher_ = std::make_unique<dispatch::dispatcher>(
        *store_, std::move(options), [this](const id128& endpoint) {
          // The endpoint said it is gone for good (410): it gets nothing more.
          try {
            change_status(endpoint, endpoint_action::disable);
          } catch (const error&) {
          }
        });
  }
  return true;
}

void engine::stop_dispatcher() {
  std::unique_ptr<dispatch::dispatcher> stopping;
  {
    std::lock_guard lock(dispatcher_mutex_);
    stopping = std::move(dispatcher_);
  }
  if (stopping) stopping->stop();
}

endpoint engine::verify_endpoint(const id128& id) {
  const auto open = open_lock();
  const auto current = store_->find_endpoint(id);
  if (!current) throw not_found_error("no endpoint " + id.to_string(kEndpointPrefix));

  // The challenge, signed and shaped like any delivery to this endpoint.
  const std::int64_t now = unix_now_ms();
  const id128 message = ids_.next(now);
  event_data data;
  data.members.push_back(
      {"challenge", "\"" + detail::base64url_encode(random_bytes(24)) + "\""});
  data.members.push_back({"endpoint_id", "\"" + id.to_string(kEndpointPrefix) + "\""});
  std::string body = detail::build_envelope({message, "webhook.verification", now},
                                            data, kAllMetadata);
  if (current->payload.format == payload_format::form) body = detail::form_body(body);

  dispatcher_options network;
  network.allowed_networks = options_.allowed_networks;
  network.ca_file = options_.ca_file;
  const dispatch::http_response answer = dispatch::post_now(
      dispatch::client_settings(network),
      dispatch::delivery_request(*current, message.to_string(kEventPrefix),
                                 std::make_shared<const std::string>(std::move(body)),
                                 now));

  verification_result result;
  result.at_ms = now;
  log(log_level::info, [&] {
    return "Verify endpoint " + id.to_string(kEndpointPrefix) + ": " +
           (answer.answered() ? "HTTP " + std::to_string(answer.status) : answer.error);
  });
  result.status = answer.status;
  result.duration_ms = static_cast<std::int32_t>(answer.duration.count());
  if (!answer.answered()) {
    result.error = answer.error;
  } else if (answer.status != 200) {
    result.error = "the endpoint answered " + std::to_string(answer.status) +
                   "; Verify endpoint needs 200";
  }
  return store_->update_endpoint(id, [&](const std::optional<endpoint>& stored) {
    if (!stored) throw not_found_error("no endpoint " + id.to_string(kEndpointPrefix));
    endpoint e = *stored;
    e.verification = result;
    if (result.passed() && (e.status == endpoint_status::created ||
                            e.status == endpoint_status::disabled)) {
      e.status = endpoint_status::verified;
    }
    e.updated_ms = unix_now_ms();
    return e;
  });
}

std::shared_ptr<emit_ticket> engine::send_test_event(const id128& id) {
  const auto found = find_endpoint(id);
  if (!found) throw not_found_error("no endpoint " + id.to_string(kEndpointPrefix));
  if (found->status != endpoint_status::active) {
    refuse("status",
           "Save webhook first: only an active endpoint receives the test "
           "event, and this one is " +
               std::string(to_string(found->status)));
  }
  event_data data;
  data.members.push_back(
      {"message", "\"A test event from Protekt, sent with Send test event.\""});
  data.members.push_back({"endpoint_id", "\"" + id.to_string(kEndpointPrefix) + "\""});
  return enqueue("webhook.test", std::move(data), {}, id);
}

bool engine::dispatching() {
  std::lock_guard lock(dispatcher_mutex_);
  return dispatcher_ != nullptr;
}

std::optional<delivery> engine::find_delivery(const id128& event,
                                              const id128& endpoint) {
  const auto open = open_lock();
  return store_->find_delivery(event, endpoint);
}

std::vector<attempt> engine::attempts_of(const id128& event, const id128& endpoint) {
  const auto open = open_lock();
  return store_->attempts_of(event, endpoint);
}

void engine::wake_dispatcher() {
  std::lock_guard lock(dispatcher_mutex_);
  if (dispatcher_) dispatcher_->wake();
}

void engine::require_endpoint(const std::optional<id128>& endpoint) {
  if (endpoint && !store_->find_endpoint(*endpoint)) {
    throw not_found_error("no endpoint " + endpoint->to_string(kEndpointPrefix));
  }
}

dead_letter_page engine::dead_letters(const std::optional<id128>& endpoint,
                                      std::size_t limit, std::string_view after) {
  const auto open = open_lock();
  return store_->dead_letters(endpoint, limit, after);
}

std::uint64_t engine::dead_letter_count(const std::optional<id128>& endpoint) {
  const auto open = open_lock();
  return store_->dead_letter_count(endpoint);
}

void engine::replay(const id128& event, const id128& endpoint) {
  {
    const auto open = open_lock();
    if (!store_->replay(event, endpoint, unix_now_ms())) {
      throw not_found_error("no dead letter for event " +
                            event.to_string(kEventPrefix) + " at endpoint " +
                            endpoint.to_string(kEndpointPrefix));
    }
  }
  wake_dispatcher();
}

std::size_t engine::replay_all(const std::optional<id128>& endpoint,
                               std::size_t limit) {
  std::size_t replayed = 0;
  {
    const auto open = open_lock();
    require_endpoint(endpoint);
    replayed = store_->replay_all(endpoint, unix_now_ms(), limit);
  }
  if (replayed > 0) wake_dispatcher();
  return replayed;
}

std::size_t engine::purge_dead_letters(const std::optional<id128>& endpoint,
                                       std::size_t limit) {
  const auto open = open_lock();
  require_endpoint(endpoint);
  return store_->purge_dead_letters(endpoint, limit);
}

delivery_log_page engine::delivery_log(const delivery_filter& filter, std::size_t limit,
                                       std::string_view after) {
  const auto open = open_lock();
  return store_->delivery_log(filter, limit, after);
}

std::vector<attempt> engine::recent_attempts(const id128& endpoint, std::size_t limit) {
  const auto open = open_lock();
  return store_->recent_attempts(endpoint, limit);
}

std::vector<std::pair<id128, endpoint_counters>> engine::counters() {
  const auto open = open_lock();
  return store_->counters();
}

endpoint_counters engine::counters_of(const id128& endpoint) {
  const auto open = open_lock();
  return store_->counters_of(endpoint);
}

std::uint64_t engine::events_emitted() {
  const auto open = open_lock();
  return store_->events_emitted();
}

endpoint_health engine::health_of(const id128& endpoint) {
  const auto open = open_lock();
  return store_->health_of(endpoint);
}

std::optional<std::string> engine::notice_of(const id128& endpoint) {
  const auto open = open_lock();
  for (auto& [id, notice] : store_->notices()) {
    if (id == endpoint) return std::move(notice);
  }
  return std::nullopt;
}

void engine::unlock_dispatcher() {
  stop_dispatcher();
  std::lock_guard lock(dispatcher_mutex_);
  if (dispatcher_lock_fd_ >= 0) {
    ::close(dispatcher_lock_fd_);  // releases the flock
    dispatcher_lock_fd_ = -1;
  }
}

}  // namespace protekt
