// The store in one LMDB environment. Databases, keys and values: docs/storage.md.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "protekt/error.hpp"
#include "protekt/store.hpp"
#include "storage/codec.hpp"
#include "storage/lmdb.hpp"

namespace protekt {
namespace {

using storage::cursor;
using storage::transaction;

constexpr std::string_view kConfigVersionKey = "config_version";
constexpr std::string_view kEventsEmittedKey = "events_emitted";
constexpr std::string_view kFormatKey = "format";
// 1 kept an event's counts in its record; 2 keeps them in event_counts. A format 1
// directory is moved to format 2 when opened.
constexpr std::uint32_t kFormatVersion = 2;

// Databases an environment may hold: those below and room for more.
constexpr unsigned kMaxDatabases = 24;

// Remembered leases (lmdb_store::held_) are looked through for ended ones once there
// are more than this many, or twice as many as after the last look.
constexpr std::size_t kHeldSweepAt = 4096;

// The lease environment's map: it holds one entry per delivery in flight.
constexpr std::size_t kLeaseMapSize = std::size_t{4} << 20;
constexpr std::size_t kMaxLeaseMapSize = std::size_t{1} << 32;
constexpr std::string_view kLeaseDirectoryPrefix = "leases-";

// Longest error text kept in an endpoint's health record.
constexpr std::size_t kMaxHealthError = 512;

bool has_prefix(std::string_view key, std::string_view prefix) {
  return key.substr(0, prefix.size()) == prefix;
}

// The machine's current boot, as Linux names it.
std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  if (in >> id && !id.empty()) return id;
  return "unknown";
}

// The lease environment of the data directory for this boot of the machine. Those of
// earlier boots are removed: no process that took their leases still runs, and their
// unsynced files may be corrupt. REQUIRES: data exists.
std::filesystem::path lease_directory(const std::filesystem::path& data) {
  const std::string name = std::string(kLeaseDirectoryPrefix) + boot_id();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data, ec)) {
    const std::string other = entry.path().filename().string();
    if (other.starts_with(kLeaseDirectoryPrefix) && other != name) {
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
  return data / name;
}

std::string encode_lease(std::int64_t until_ms) {
  std::string value;
  storage::put_u64(value, static_cast<std::uint64_t>(until_ms));
  return value;
}

std::int64_t decode_lease(std::string_view value) {
  return static_cast<std::int64_t>(storage::reader(value).u64());
}

// The first entry at or after key; LMDB takes no empty key, which means the start.
auto seek_from(cursor& c, std::string_view key) {
  return key.empty() ? c.first() : c.seek(key);
}

class lmdb_store final : public store {
 public:
  explicit lmdb_store(const lmdb_store_options& options)
      : shared_env_(
            storage::open_environment({options.directory, options.initial_map_size,
                                       options.max_map_size, kMaxDatabases})),
        env_(*shared_env_),
        shared_lease_env_(
            storage::open_environment({lease_directory(options.directory),
                                       kLeaseMapSize, kMaxLeaseMapSize, 2, true})),
        lease_env_(*shared_lease_env_),
        idempotency_window_ms_(options.idempotency_window_ms) {
    lease_env_.run_write([this](transaction& txn) {
      leases_ = lease_env_.open_database(txn, "leases");
    });
    env_.run_write([this](transaction& txn) {
      meta_ = env_.open_database(txn, "meta");
      endpoints_ = env_.open_database(txn, "endpoints");
      events_ = env_.open_database(txn, "events");
      bodies_ = env_.open_database(txn, "bodies");
      deliveries_ = env_.open_database(txn, "deliveries");
      due_ = env_.open_database(txn, "due");
      endpoint_due_ = env_.open_database(txn, "endpoint_due");
      completed_ = env_.open_database(txn, "completed");
      idempotency_ = env_.open_database(txn, "idempotency");
      idempotency_time_ = env_.open_database(txn, "idempotency_time");
      attempts_ = env_.open_database(txn, "attempts");
      dead_letters_ = env_.open_database(txn, "dead_letters");
      health_ = env_.open_database(txn, "health");
      notices_ = env_.open_database(txn, "notices");
      endpoint_log_ = env_.open_database(txn, "endpoint_log");
      counters_ = env_.open_database(txn, "counters");
      event_counts_ = env_.open_database(txn, "event_counts");
      check_format(txn);
      index_due_by_endpoint(txn);
    });
  }

  // ---- endpoints -----------------------------------------------------------------

  std::vector<endpoint> list_endpoints() override {
    transaction txn(env_, false);
    return read_endpoints(txn, false);
  }

  std::optional<endpoint> find_endpoint(const id128& id) override {
    transaction txn(env_, false);
    return read_endpoint(txn, id);
  }

  endpoint update_endpoint(
      const id128& id,
      const std::function<endpoint(const std::optional<endpoint>&)>& change) override {
    endpoint result;
    env_.run_write([&](transaction& txn) {
      result = change(read_endpoint(txn, id));
      result.id = id;
      txn.put(endpoints_, id.raw(), nlohmann::json(result).dump());
      bump_config_version(txn);
    });
    return result;
  }

  bool erase_endpoint(const id128& id) override {
    // Its queued deliveries stay; the dispatcher cancels them when it finds the
    // endpoint gone, which spares a scan of the whole queue here.
    bool erased = false;
    env_.run_write([&](transaction& txn) {
      erased = txn.erase(endpoints_, id.raw());
      if (erased) {
        txn.erase(counters_, id.raw());
        bump_config_version(txn);
      }
    });
    return erased;
  }

  // ---- events --------------------------------------------------------------------

  std::vector<emit_outcome> append(std::span<const emit_request> requests,
                                   const fanout_planner& planner) override {
    std::vector<emit_outcome> outcomes;
    env_.run_write([&](transaction& txn) {
      outcomes.clear();
      const auto active = active_endpoints(txn);
      std::map<id128, std::uint64_t> created;  // deliveries per endpoint
      for (const emit_request& request : requests) {
        outcomes.push_back(append_one(txn, request, planner, *active, created));
      }

      // Counted once per transaction, not once per event.
      for (const auto& [endpoint, count] : created) {
        change_counters(txn, endpoint,
                        [count](endpoint_counters& c) { c.deliveries += count; });
      }
      const auto fresh =
          std::count_if(outcomes.begin(), outcomes.end(),
                        [](const emit_outcome& o) { return !o.duplicate; });
      if (fresh > 0) add_to_meta(txn, kEventsEmittedKey, fresh);
    });
    return outcomes;
  }

  std::optional<stored_event> find_event(const id128& id) override {
    transaction txn(env_, false);
    const auto value = txn.get(events_, id.raw());
    if (!value) return std::nullopt;
    stored_event event = storage::decode_event(id.raw(), *value);
    const auto counts = read_counts(txn, id);
    event.pending = counts ? counts->pending : 0;
    event.finished_ms = counts ? counts->finished_ms : 0;
    return event;
  }

  std::vector<delivery> deliveries_of(const id128& event) override {
    transaction leases(lease_env_, false);
    transaction txn(env_, false);
    std::vector<delivery> result;
    cursor c(txn, deliveries_);
    for (auto e = c.seek(event.raw()); e && has_prefix(e->key, event.raw());
         e = c.next()) {
      result.push_back(shown(leases, e->key, e->value));
    }
    return result;
  }

  std::optional<std::string> body_of(const id128& event, std::uint8_t shape) override {
    transaction txn(env_, false);
    return read_body(txn, event, shape);
  }

  std::optional<std::string> read_body(const transaction& txn, const id128& event,
                                       std::uint8_t shape) {
    if (shape == kFullEnvelope) {
      const auto value = txn.get(events_, event.raw());
      if (!value) return std::nullopt;
      return storage::decode_event(event.raw(), *value).envelope;
    }
    const auto body = txn.get(bodies_, storage::body_key(event, shape));
    if (!body) return std::nullopt;
    return std::string(*body);
  }

  // ---- queue ---------------------------------------------------------------------

  std::vector<delivery> due(std::int64_t now_ms, std::size_t limit) override {
    transaction leases(lease_env_, false);
    transaction txn(env_, false);
    std::vector<delivery> result;
    cursor c(txn, due_);
    for (auto e = c.first(); e && result.size() < limit; e = c.next()) {
      storage::reader key(e->key);
      if (static_cast<std::int64_t>(key.u64()) > now_ms) break;
      const std::string_view delivery_key = key.rest();
      const auto record = txn.get(deliveries_, delivery_key);
      if (!record) continue;
      delivery d = storage::decode_delivery(delivery_key, *record);
      if (lease_end(leases, delivery_key, now_ms) == 0) result.push_back(std::move(d));
    }
    return result;
  }

  std::uint64_t pending_count() override {
    transaction txn(env_, false);
    MDB_stat stat;
    storage::check(mdb_stat(txn.native(), due_, &stat), "count the queue");
    return stat.ms_entries;
  }

  std::optional<std::int64_t> next_due_ms() override {
    transaction txn(env_, false);
    cursor c(txn, due_);
    // A held delivery is due again when its lease ends; the held ones stand at the
    // front of the index, before the first that is not held.
    std::optional<std::int64_t> next;
    std::lock_guard lock(held_mutex_);
    for (auto e = c.first(); e; e = c.next()) {
      storage::reader key(e->key);
      const auto due = static_cast<std::int64_t>(key.u64());
      const auto held = held_.find(held_key(key.rest()));
      if (held == held_.end()) return next ? std::min(*next, due) : due;
      next = next ? std::min(*next, held->second) : held->second;
    }
    return next;
  }

  std::uint64_t config_version() override {
    transaction txn(env_, false);
    return config_version(txn);
  }

  std::vector<delivery> lease_by_endpoint(
      std::int64_t now_ms, std::int64_t lease_ms, std::size_t limit,
      const room_fn& room, std::vector<std::optional<std::string>>* bodies,
      const std::optional<id128>& after) override {
    std::vector<delivery> taken;
    std::vector<delivery> others;      // leased by another store until later
    std::vector<std::string> orphans;  // due entries whose delivery is gone
    // The data is read in a snapshot opened under the lease environment's write lock.
    // An outcome stored before the lock was taken shows in it; one stored later finds
    // the lease it ends still written, as a store releases a lease only once the
    // outcome has committed (release_leases).
    lease_env_.run_write(
        [&](transaction& leases) {
          transaction txn(env_, false);
          taken.clear();
          orphans.clear();

          // One pass over the endpoints that have due deliveries, in id order from
          // the one after `after` and round to it: within an endpoint's part of the
          // index, its deliveries by due time (docs/storage.md).
          std::vector<std::string> keys;
          {
            cursor c(txn, endpoint_due_);
            const std::string past_after =
                after ? std::string(after->raw()) + std::string(24, '\xff')
                      : std::string();
            auto e = after ? c.seek(past_after) : c.first();
            bool wrapped = !after;
            while (keys.size() < limit) {
              if (!e && !wrapped) {
                e = c.first();
                wrapped = true;
              }
              // Come round past the start: every endpoint has had its turn.
              if (!e || (after && wrapped && e->key > past_after)) break;
              const std::string endpoint_raw(e->key.substr(0, 16));
              const id128 endpoint = id128::from_raw(endpoint_raw);
              const std::size_t most = std::min(room(endpoint), limit - keys.size());
              std::size_t n = 0;
              std::lock_guard lock(held_mutex_);
              for (; e && n < most && has_prefix(e->key, endpoint_raw); e = c.next()) {
                storage::reader key(e->key.substr(16));
                const auto due = static_cast<std::int64_t>(key.u64());
                if (due > now_ms) break;
                const id128 event = id128::from_raw(key.rest());
                const auto held = held_.find({event, endpoint});
                if (held != held_.end() && held->second > now_ms) continue;
                keys.push_back(storage::due_key(due, event, endpoint));
                ++n;
              }
              // On to the next endpoint: past every key that starts with this one.
              e = c.seek(endpoint_raw + std::string(24, '\xff'));
            }
          }
          others.clear();
          take_leases(txn, leases, keys, now_ms, now_ms + lease_ms, taken, others,
                      orphans);
          if (bodies != nullptr) {
            bodies->clear();
            for (const delivery& d : taken)
              bodies->push_back(read_body(txn, d.event, d.shape));
          }
        },
        storage::durability::relaxed);
    if (!orphans.empty()) {
      env_.run_write(
          [&](transaction& txn) {
            for (const std::string& due_key : orphans) {
              if (!txn.get(deliveries_, std::string_view(due_key).substr(8))) {
                erase_due(txn, due_key);
              }
            }
          },
          storage::durability::relaxed);
    }
    std::lock_guard lock(held_mutex_);
    for (const delivery& d : taken) held_[{d.event, d.endpoint}] = d.lease_until_ms;
    for (const delivery& d : others) held_[{d.event, d.endpoint}] = d.lease_until_ms;
    // A lease whose outcome never came (the store failed, or the delivery is gone)
    // is forgotten once it has ended, when the map has doubled since the last look.
    if (held_.size() > held_sweep_at_) {
      std::erase_if(held_, [&](const auto& h) { return h.second <= now_ms; });
      held_sweep_at_ = std::max(kHeldSweepAt, 2 * held_.size());
    }
    return taken;
  }

  bool record_outcome(const delivery& updated,
                      const std::optional<attempt>& attempt) override {
    bool found = false;
    env_.run_write([&](transaction& txn) {
      endpoint_tallies tallies;
      found = store_outcome(txn, updated, attempt, tallies);
      write_tallies(txn, tallies);
    });
    release_leases(std::span(&updated, 1));
    return found;
  }

  std::vector<bool> record_outcomes(std::span<const outcome_record> outcomes) override {
    std::vector<bool> found(outcomes.size());
    env_.run_write(
        [&](transaction& txn) {
          endpoint_tallies tallies;
          for (std::size_t i = 0; i < outcomes.size(); ++i) {
            const outcome_record& o = outcomes[i];
            found[i] = store_outcome(txn, o.updated, o.tried, tallies);
            if (found[i] && o.notice) change_notice(txn, o.updated.endpoint, o.notice);
          }
          write_tallies(txn, tallies);
        },
        storage::durability::relaxed);
    std::vector<delivery> ended;
    ended.reserve(outcomes.size());
    for (const outcome_record& o : outcomes) ended.push_back(o.updated);
    release_leases(ended);
    return found;
  }

  std::size_t reschedule(const id128& endpoint, std::int64_t due_ms) override {
    std::size_t moved = 0;
    transaction leases(lease_env_, false);
    env_.run_write([&](transaction& txn) {
      moved = 0;
      std::vector<std::string> keys;
      {
        cursor c(txn, due_);
        for (auto e = c.first(); e; e = c.next()) {
          const bool later =
              static_cast<std::int64_t>(storage::reader(e->key).u64()) > due_ms;
          if (later && e->key.substr(24) == endpoint.raw()) keys.emplace_back(e->key);
        }
      }
      for (const std::string& key : keys) {
        const std::string_view delivery_key = std::string_view(key).substr(8);
        const auto record = txn.get(deliveries_, delivery_key);
        if (!record) continue;
        delivery d = storage::decode_delivery(delivery_key, *record);
        if (storage::is_finished(d.status)) continue;
        if (last_lease(leases, delivery_key) != 0) continue;  // in flight
        d.status = delivery_status::pending;  // in flight only from an older lease
        erase_due(txn, key);
        d.due_ms = due_ms;
        put_delivery(txn, d);
        ++moved;
      }
    });
    return moved;
  }

  std::optional<delivery> find_delivery(const id128& event,
                                        const id128& endpoint) override {
    transaction leases(lease_env_, false);
    transaction txn(env_, false);
    const std::string key = storage::delivery_key(event, endpoint);
    const auto record = txn.get(deliveries_, key);
    if (!record) return std::nullopt;
    return shown(leases, key, *record);
  }

  std::vector<attempt> attempts_of(const id128& event, const id128& endpoint) override {
    transaction txn(env_, false);
    const std::string prefix = storage::delivery_key(event, endpoint);
    std::vector<attempt> result;
    cursor c(txn, attempts_);
    for (auto e = c.seek(prefix); e && has_prefix(e->key, prefix); e = c.next()) {
      result.push_back(storage::decode_attempt(e->key, e->value));
    }
    return result;
  }

  endpoint_health health_of(const id128& endpoint) override {
    transaction txn(env_, false);
    return read_health(txn, endpoint);
  }

  // ---- the delivery log and counters ---------------------------------------------

  delivery_log_page delivery_log(const delivery_filter& filter, std::size_t limit,
                                 std::string_view after) override {
    transaction leases(lease_env_, false);
    transaction txn(env_, false);
    delivery_log_page page;

    // Both indexes start with [endpoint id] + event id, and event ids start with
    // their time, so a time range is a key range, read from its top down.
    const std::string prefix =
        filter.endpoint ? std::string(filter.endpoint->raw()) : "";
    std::string top = prefix + std::string(33, '\xff');
    if (filter.until_ms > 0)
      top = std::min(top, prefix + storage::id_floor(filter.until_ms));
    if (!after.empty()) top = std::min(top, std::string(after));
    const std::string bottom = prefix + storage::id_floor(filter.since_ms);
    cursor c(txn, filter.endpoint ? endpoint_log_ : deliveries_);
    std::size_t scanned = 0;
    std::string last;  // the key examined last: the next page starts below it
    for (auto e = c.seek_before(top); e && e->key >= bottom; e = c.prev()) {
      if (page.deliveries.size() == limit || scanned == kMaxLogScan) {
        page.next = last;
        break;
      }
      ++scanned;
      last = e->key;
      take_if_matching(txn, leases, filter, *e, page);
    }
    return page;
  }

  std::vector<attempt> recent_attempts(const id128& endpoint,
                                       std::size_t limit) override {
    transaction txn(env_, false);
    std::vector<attempt> result;
    cursor log(txn, endpoint_log_);
    const std::string top = std::string(endpoint.raw()) + std::string(16, '\xff');
    for (auto e = log.seek_before(top);
         e && has_prefix(e->key, endpoint.raw()) && result.size() < limit;
         e = log.prev()) {
      const std::string prefix =
          storage::delivery_key(id128::from_raw(e->key.substr(16)), endpoint);
      cursor c(txn, attempts_);
      for (auto a = c.seek(prefix);
           a && has_prefix(a->key, prefix) && result.size() < limit; a = c.next()) {
        result.push_back(storage::decode_attempt(a->key, a->value));
      }
    }
    return result;
  }

  std::vector<std::pair<id128, endpoint_counters>> counters() override {
    transaction txn(env_, false);
    std::vector<std::pair<id128, endpoint_counters>> result;
    cursor c(txn, counters_);
    for (auto e = c.first(); e; e = c.next()) {
      result.emplace_back(id128::from_raw(e->key), storage::decode_counters(e->value));
    }
    return result;
  }

  endpoint_counters counters_of(const id128& endpoint) override {
    transaction txn(env_, false);
    const auto value = txn.get(counters_, endpoint.raw());
    return value ? storage::decode_counters(*value) : endpoint_counters{};
  }

  std::uint64_t events_emitted() override {
    transaction txn(env_, false);
    const auto value = txn.get(meta_, kEventsEmittedKey);
    return value ? storage::reader(*value).u64() : 0;
  }

  // ---- dead-letter queue ---------------------------------------------------------

  dead_letter_page dead_letters(const std::optional<id128>& endpoint, std::size_t limit,
                                std::string_view after) override {
    transaction txn(env_, false);
    dead_letter_page page;
    const std::string prefix = endpoint ? std::string(endpoint->raw()) : std::string();
    cursor c(txn, dead_letters_);
    auto e = seek_from(c, after.empty() ? std::string_view(prefix) : after);
    if (e && !after.empty() && e->key == after) e = c.next();
    for (; e && has_prefix(e->key, prefix); e = c.next()) {
      if (page.letters.size() == limit) {
        page.next = std::string(page_key(page.letters.back()));
        break;
      }
      if (auto d = dead_letter_at(txn, e->key)) page.letters.push_back(*d);
    }
    return page;
  }

  std::uint64_t dead_letter_count(const std::optional<id128>& endpoint) override {
    transaction txn(env_, false);
    if (!endpoint) {
      MDB_stat stat;
      storage::check(mdb_stat(txn.native(), dead_letters_, &stat),
                     "count the dead-letter queue");
      return stat.ms_entries;
    }
    std::uint64_t count = 0;
    cursor c(txn, dead_letters_);
    for (auto e = c.seek(endpoint->raw()); e && has_prefix(e->key, endpoint->raw());
         e = c.next()) {
      ++count;
    }
    return count;
  }

  bool replay(const id128& event, const id128& endpoint, std::int64_t now_ms) override {
    bool replayed = false;
    env_.run_write([&](transaction& txn) {
      const std::string key = storage::delivery_key(event, endpoint);
      const auto record = txn.get(deliveries_, key);
      replayed = record && storage::decode_delivery(key, *record).status ==
                               delivery_status::dead_lettered;
      if (replayed) replay_one(txn, storage::decode_delivery(key, *record), now_ms);
    });
    return replayed;
  }

  std::size_t replay_all(const std::optional<id128>& endpoint, std::int64_t now_ms,
                         std::size_t limit) override {
    std::size_t replayed = 0;
    env_.run_write([&](transaction& txn) {
      const auto letters = take_dead_letters(txn, endpoint, limit);
      for (const delivery& d : letters) replay_one(txn, d, now_ms);
      replayed = letters.size();
    });
    return replayed;
  }

  std::size_t purge_dead_letters(const std::optional<id128>& endpoint,
                                 std::size_t limit) override {
    std::size_t purged = 0;
    env_.run_write([&](transaction& txn) {
      const auto letters = take_dead_letters(txn, endpoint, limit);
      for (delivery d : letters) {
        txn.erase(dead_letters_, storage::dead_letter_key(d));
        d.status = delivery_status::failed;
        put_delivery(txn, d);
      }
      purged = letters.size();
    });
    return purged;
  }

  // ---- failure notices -----------------------------------------------------------

  void change_notice(const id128& endpoint, const notice_change& change) override {
    env_.run_write([&](transaction& txn) { change_notice(txn, endpoint, change); });
  }

  std::vector<std::pair<id128, std::string>> notices() override {
    transaction txn(env_, false);
    std::vector<std::pair<id128, std::string>> result;
    cursor c(txn, notices_);
    for (auto e = c.first(); e; e = c.next()) {
      result.emplace_back(id128::from_raw(e->key), std::string(e->value));
    }
    return result;
  }

  // ---- retention -----------------------------------------------------------------

  sweep_result sweep(const sweep_rules& rules) override {
    sweep_result result;
    env_.run_write([&](transaction& txn) {
      result = {};
      sweep_events(txn, rules, result);
      sweep_idempotency(txn, rules, result);
    });
    return result;
  }

 private:
  void check_format(transaction& txn) {
    const auto format = txn.get(meta_, kFormatKey);
    const std::uint32_t version =
        format ? storage::reader(*format).u32() : kFormatVersion;
    if (version == 1) move_counts_out_of_events(txn);
    if (!format || version == 1) {
      std::string value;
      storage::put_u32(value, kFormatVersion);
      txn.put(meta_, kFormatKey, value);
      return;
    }
    if (version != kFormatVersion) {
      throw storage_error(EINVAL, "the data directory " + env_.directory().string() +
                                      " has storage format " + std::to_string(version) +
                                      ", but this protekt reads format " +
                                      std::to_string(kFormatVersion));
    }
  }

  // Format 1 to 2: each event's counts, read from its record, go into event_counts
  // as the records are read (another database: the cursor stays valid). The records
  // keep their old layout; decode_event reads every version.
  void move_counts_out_of_events(transaction& txn) {
    cursor c(txn, events_);
    for (auto e = c.first(); e; e = c.next()) {
      const stored_event event = storage::decode_event(e->key, e->value);
      txn.put(event_counts_, e->key,
              storage::encode_event_counts({event.pending, event.finished_ms}));
    }
  }

  std::optional<storage::event_counts> read_counts(const transaction& txn,
                                                   const id128& event) const {
    const auto value = txn.get(event_counts_, event.raw());
    if (!value) return std::nullopt;
    return storage::decode_event_counts(*value);
  }

  std::uint64_t config_version(const transaction& txn) const {
    const auto value = txn.get(meta_, kConfigVersionKey);
    return value ? storage::reader(*value).u64() : 0;
  }

  void bump_config_version(transaction& txn) {
    std::string value;
    storage::put_u64(value, config_version(txn) + 1);
    txn.put(meta_, kConfigVersionKey, value);
  }

  std::optional<endpoint> read_endpoint(const transaction& txn, const id128& id) {
    const auto value = txn.get(endpoints_, id.raw());
    if (!value) return std::nullopt;
    return parse_endpoint(*value);
  }

  static endpoint parse_endpoint(std::string_view text) {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) {
      throw storage_error(EINVAL,
                          "a stored endpoint is not valid JSON: the data file "
                          "is damaged");
    }
    return endpoint_from_json(j);
  }

  std::vector<endpoint> read_endpoints(const transaction& txn, bool active_only) {
    std::vector<endpoint> result;
    cursor c(txn, endpoints_);
    for (auto e = c.first(); e; e = c.next()) {
      endpoint ep = parse_endpoint(e->value);
      if (!active_only || ep.status == endpoint_status::active) {
        result.push_back(std::move(ep));
      }
    }
    return result;
  }

  // The active endpoints as of txn, re-read only when another change (in this
  // process or another) moved the configuration version on.
  std::shared_ptr<const std::vector<endpoint>> active_endpoints(
      const transaction& txn) {
    const std::uint64_t version = config_version(txn);
    std::lock_guard lock(cache_mutex_);
    if (!active_cache_ || version != cache_version_) {
      active_cache_ =
          std::make_shared<const std::vector<endpoint>>(read_endpoints(txn, true));
      cache_version_ = version;
    }
    return active_cache_;
  }

  // An earlier event with the same key, still within the window.
  std::optional<emit_outcome> repeated(const transaction& txn,
                                       const emit_request& request) {
    const auto value = txn.get(idempotency_, request.idempotency_key);
    if (!value) return std::nullopt;
    storage::reader r(*value);
    const id128 event = r.id();
    const auto created = static_cast<std::int64_t>(r.u64());
    if (request.created_ms - created >= idempotency_window_ms_) return std::nullopt;
    return emit_outcome{event, true, 0};
  }

  emit_outcome append_one(transaction& txn, const emit_request& request,
                          const fanout_planner& planner,
                          const std::vector<endpoint>& active,
                          std::map<id128, std::uint64_t>& created) {
    const bool keyed = !request.idempotency_key.empty();
    if (keyed) {
      if (auto earlier = repeated(txn, request)) return *earlier;
    }

    const fanout plan = planner(request, active);
    for (std::size_t i = 0; i < plan.bodies.size(); ++i) {
      txn.put(bodies_, storage::body_key(request.id, static_cast<std::uint8_t>(i)),
              plan.bodies[i]);
    }
    for (const delivery& d : plan.deliveries) {
      put_delivery(txn, d);
      txn.put(endpoint_log_, storage::log_key(d.endpoint, d.event), {});
      ++created[d.endpoint];
    }

    const auto pending = static_cast<std::uint32_t>(plan.deliveries.size());
    const storage::event_counts counts{pending, pending == 0 ? request.created_ms : 0};
    const stored_event event{request.id,       request.type,   request.created_ms,
                             request.envelope, counts.pending, counts.finished_ms};
    txn.put(events_, request.id.raw(), storage::encode_event(event), MDB_NOOVERWRITE);
    txn.put(event_counts_, request.id.raw(), storage::encode_event_counts(counts));
    if (plan.deliveries.empty()) {
      txn.put(completed_, storage::time_key(request.created_ms, request.id.raw()), {});
    }

    if (keyed) {
      std::string value(request.id.raw());
      storage::put_u64(value, static_cast<std::uint64_t>(request.created_ms));
      txn.put(idempotency_, request.idempotency_key, value);
      txn.put(idempotency_time_,
              storage::time_key(request.created_ms, request.idempotency_key), {});
    }
    return {request.id, false, plan.deliveries.size()};
  }

  // Writes a delivery record and, while it is pending or in flight, its due entries.
  void put_delivery(transaction& txn, const delivery& d) {
    txn.put(deliveries_, storage::delivery_key(d.event, d.endpoint),
            storage::encode_delivery(d));
    if (!storage::is_finished(d.status)) {
      txn.put(due_, storage::due_key(d.due_ms, d.event, d.endpoint), {});
      txn.put(endpoint_due_, storage::endpoint_due_key(d.endpoint, d.due_ms, d.event),
              {});
    }
  }

  // Removes a delivery's entries from both due indexes; due_key is its `due` key.
  void erase_due(transaction& txn, std::string_view due_key) {
    storage::reader key(due_key);
    const auto due_ms = static_cast<std::int64_t>(key.u64());
    const id128 event = id128::from_raw(due_key.substr(8, 16));
    const id128 endpoint = id128::from_raw(due_key.substr(24, 16));
    txn.erase(due_, due_key);
    txn.erase(endpoint_due_, storage::endpoint_due_key(endpoint, due_ms, event));
  }

  // Leases the deliveries of due_keys (read in txn) until lease_until_ms, adding them
  // to taken. A lease is one entry in the lease environment (written in leases); the
  // data is not written, and the store remembers the lease (held_) so that its scans
  // pass over it. A delivery still leased by another store goes to others instead,
  // to be remembered until that lease ends; a due entry whose delivery is gone, to
  // orphans.
  void take_leases(const transaction& txn, transaction& leases,
                   const std::vector<std::string>& due_keys, std::int64_t now_ms,
                   std::int64_t lease_until_ms, std::vector<delivery>& taken,
                   std::vector<delivery>& others, std::vector<std::string>& orphans) {
    const std::string lease = encode_lease(lease_until_ms);
    for (const std::string& due_key : due_keys) {
      const std::string_view delivery_key = std::string_view(due_key).substr(8);
      const auto record = txn.get(deliveries_, delivery_key);
      if (!record) {
        orphans.push_back(due_key);
        continue;
      }
      delivery d = storage::decode_delivery(delivery_key, *record);
      d.status = delivery_status::in_flight;
      if (const auto other = leases.get(leases_, delivery_key);
          other && decode_lease(*other) > now_ms) {
        d.lease_until_ms = decode_lease(*other);
        others.push_back(std::move(d));
        continue;
      }
      d.lease_until_ms = lease_until_ms;
      leases.put(leases_, delivery_key, lease);
      taken.push_back(std::move(d));
    }
  }

  // The end of the last lease taken on the delivery at delivery_key, or 0 when none
  // was taken since its last outcome: one this store remembers, or one in the lease
  // environment (read in leases).
  std::int64_t last_lease(const transaction& leases, std::string_view delivery_key) {
    {
      std::lock_guard lock(held_mutex_);
      const auto held = held_.find(held_key(delivery_key));
      if (held != held_.end()) return held->second;
    }
    const auto value = leases.get(leases_, delivery_key);
    return value ? decode_lease(*value) : 0;
  }

  // The end of a lease on the delivery at delivery_key that runs past now_ms, or 0.
  std::int64_t lease_end(const transaction& leases, std::string_view delivery_key,
                         std::int64_t now_ms) {
    const std::int64_t until = last_lease(leases, delivery_key);
    return until > now_ms ? until : 0;
  }

  // A delivery as it reads: in flight from a lease until its outcome, as the lease
  // may outlast the process that took it.
  delivery shown(const transaction& leases, std::string_view key,
                 std::string_view record) {
    delivery d = storage::decode_delivery(key, record);
    if (storage::is_finished(d.status)) return d;
    d.status = delivery_status::pending;  // in flight only from an older lease
    d.lease_until_ms = 0;
    if (const std::int64_t until = last_lease(leases, key)) {
      d.status = delivery_status::in_flight;
      d.lease_until_ms = until;
    }
    return d;
  }

  // Ends the leases on deliveries whose outcome has committed, here and in the lease
  // environment; an outcome that keeps its delivery in flight keeps the lease. Under
  // the lease environment's write lock, so that a lease being taken meanwhile sees
  // either the lease or the outcome (lease_by_endpoint).
  void release_leases(std::span<const delivery> ended) {
    try {
      lease_env_.run_write(
          [&](transaction& leases) {
            std::lock_guard lock(held_mutex_);
            for (const delivery& d : ended) {
              if (d.status == delivery_status::in_flight) continue;
              leases.erase(leases_, storage::delivery_key(d.event, d.endpoint));
              held_.erase({d.event, d.endpoint});
            }
          },
          storage::durability::relaxed);
    } catch (const error&) {
      // Left to run out: a lease held too long delays its delivery's next attempt
      // until it ends, and loses nothing.
    }
  }

  // The per-endpoint due index holds what `due` holds; a directory written before it
  // existed (or one whose two indexes differ) gets it rebuilt from `due` on open.
  void index_due_by_endpoint(transaction& txn) {
    const auto entries = [&](MDB_dbi dbi) {
      MDB_stat stat;
      storage::check(mdb_stat(txn.native(), dbi, &stat), "count the due index");
      return stat.ms_entries;
    };
    if (entries(due_) == entries(endpoint_due_)) return;
    storage::check(mdb_drop(txn.native(), endpoint_due_, 0), "clear the due index");
    std::vector<std::string> keys;
    {
      cursor c(txn, due_);
      for (auto e = c.first(); e; e = c.next()) keys.emplace_back(e->key);
    }
    for (const std::string& k : keys) {
      storage::reader key(k);
      const auto due_ms = static_cast<std::int64_t>(key.u64());
      txn.put(endpoint_due_,
              storage::endpoint_due_key(id128::from_raw(k.substr(24, 16)), due_ms,
                                        id128::from_raw(k.substr(8, 16))),
              {});
    }
  }

  // The counters and health records that a transaction's outcomes change: each is
  // read once, changed in memory by every outcome in turn, and written once.
  struct endpoint_tallies {
    std::map<id128, endpoint_counters> counters;
    std::map<id128, endpoint_health> health;
  };

  endpoint_counters& counters_in(const transaction& txn, endpoint_tallies& tallies,
                                 const id128& endpoint) {
    const auto [it, fresh] = tallies.counters.try_emplace(endpoint);
    if (fresh) {
      if (const auto value = txn.get(counters_, endpoint.raw())) {
        it->second = storage::decode_counters(*value);
      }
    }
    return it->second;
  }

  void write_tallies(transaction& txn, const endpoint_tallies& tallies) {
    for (const auto& [endpoint, c] : tallies.counters) {
      txn.put(counters_, endpoint.raw(), storage::encode_counters(c));
    }
    for (const auto& [endpoint, health] : tallies.health) {
      write_health(txn, endpoint, health);
    }
  }

  // A delivery's new state and the attempt that led to it; false when it is gone.
  bool store_outcome(transaction& txn, const delivery& updated,
                     const std::optional<attempt>& attempt, endpoint_tallies& tallies) {
    const std::string key = storage::delivery_key(updated.event, updated.endpoint);
    const auto record = txn.get(deliveries_, key);
    if (!record) return false;
    const delivery current = storage::decode_delivery(key, *record);

    // Out of the due index at its old time; back in at its new one if pending.
    if (!storage::is_finished(current.status)) {
      erase_due(txn, storage::due_key(current.due_ms, current.event, current.endpoint));
    }
    delivery next = updated;
    if (storage::is_finished(next.status)) next.due_ms = 0;
    put_delivery(txn, next);
    if (attempt) {
      txn.put(attempts_,
              storage::attempt_key(next.event, next.endpoint, attempt->number),
              storage::encode_attempt(*attempt));
      auto [health, fresh] = tallies.health.try_emplace(next.endpoint);
      if (fresh) health->second = read_health(txn, next.endpoint);
      note_health(health->second, *attempt);
    }
    const bool finishes =
        storage::is_finished(next.status) && !storage::is_finished(current.status);
    if (attempt || finishes) {
      count_outcome(counters_in(txn, tallies, next.endpoint), next, attempt, finishes);
    }
    if (next.status == delivery_status::dead_lettered &&
        current.status != delivery_status::dead_lettered) {
      txn.put(dead_letters_, storage::dead_letter_key(next), {});
    }
    if (finishes) count_down(txn, next.event, next.completed_ms);
    return true;
  }

  // Adds the delivery behind a log entry to the page when it passes the filter.
  void take_if_matching(const transaction& txn, const transaction& leases,
                        const delivery_filter& filter, const cursor::entry& entry,
                        delivery_log_page& page) {
    delivery d;
    if (filter.endpoint) {
      const std::string key = storage::delivery_key(
          id128::from_raw(entry.key.substr(16)), *filter.endpoint);
      const auto record = txn.get(deliveries_, key);
      if (!record) return;
      d = shown(leases, key, *record);
    } else {
      d = shown(leases, entry.key, entry.value);
    }
    if (filter.status && d.status != *filter.status) return;
    const auto event = txn.get(events_, d.event.raw());
    if (!event) return;
    const std::string_view type = storage::decode_event_type(*event);
    if (!filter.event_type.empty() && type != filter.event_type) return;
    page.deliveries.push_back(d);
    page.event_types.emplace_back(type);
  }

  void change_counters(transaction& txn, const id128& endpoint,
                       const std::function<void(endpoint_counters&)>& change) {
    const auto value = txn.get(counters_, endpoint.raw());
    endpoint_counters c =
        value ? storage::decode_counters(*value) : endpoint_counters{};
    change(c);
    txn.put(counters_, endpoint.raw(), storage::encode_counters(c));
  }

  // What an attempt and a delivery's end add to its endpoint's counters.
  static void count_outcome(endpoint_counters& c, const delivery& d,
                            const std::optional<attempt>& attempt, bool finishes) {
    if (attempt) count_attempt(c, *attempt);
    if (!finishes) return;
    switch (d.status) {
      case delivery_status::succeeded: ++c.succeeded; break;
      case delivery_status::failed: ++c.failed; break;
      case delivery_status::dead_lettered: ++c.dead_lettered; break;
      case delivery_status::cancelled: ++c.cancelled; break;
      default: break;
    }
  }

  static void count_attempt(endpoint_counters& c, const attempt& a) {
    ++c.attempts;
    if (a.number > 1) ++c.retries;
    if (a.status < 200 || a.status >= 300) ++c.failed_attempts;
    if (a.status == 0) return;  // no response: no latency
    const auto ms = std::max<std::int64_t>(a.duration_ms, 0);
    c.latency_sum_ms += static_cast<std::uint64_t>(ms);
    const auto bucket =
        std::lower_bound(kLatencyBoundsMs.begin(), kLatencyBoundsMs.end(), ms) -
        kLatencyBoundsMs.begin();
    ++c.latency[static_cast<std::size_t>(bucket)];
  }

  void add_to_meta(transaction& txn, std::string_view key, std::uint64_t n) {
    const auto value = txn.get(meta_, key);
    std::string next;
    storage::put_u64(next, (value ? storage::reader(*value).u64() : 0) + n);
    txn.put(meta_, key, next);
  }

  endpoint_health read_health(const transaction& txn, const id128& endpoint) {
    endpoint_health health;
    if (const auto value = txn.get(health_, endpoint.raw())) {
      storage::reader r(*value);
      health.failing_since_ms = static_cast<std::int64_t>(r.u64());
      health.last_success_ms = static_cast<std::int64_t>(r.u64());
      health.last_failure_ms = static_cast<std::int64_t>(r.u64());
      if (!r.rest().empty()) {  // records written before errors were kept lack it
        health.last_error_status = static_cast<std::int32_t>(r.u32());
        health.last_error_class = r.bytes(r.u8());
        health.last_error = r.bytes(r.u16());
      }
    }
    return health;
  }

  // What an attempt changes in its endpoint's health: failing since, last success, last
  // failure and its error.
  static void note_health(endpoint_health& health, const attempt& a) {
    if (a.status >= 200 && a.status < 300) {
      health.failing_since_ms = 0;
      health.last_success_ms = a.started_ms;
    } else {
      if (health.failing_since_ms == 0) health.failing_since_ms = a.started_ms;
      health.last_failure_ms = a.started_ms;
      health.last_error_status = a.status;
      health.last_error_class = a.error_class.substr(0, 255);
      health.last_error = a.error.substr(0, kMaxHealthError);
    }
  }

  void write_health(transaction& txn, const id128& endpoint,
                    const endpoint_health& health) {
    std::string value;
    storage::put_u64(value, static_cast<std::uint64_t>(health.failing_since_ms));
    storage::put_u64(value, static_cast<std::uint64_t>(health.last_success_ms));
    storage::put_u64(value, static_cast<std::uint64_t>(health.last_failure_ms));
    storage::put_u32(value, static_cast<std::uint32_t>(health.last_error_status));
    value.push_back(static_cast<char>(health.last_error_class.size()));
    value += health.last_error_class;
    storage::put_u16(value, static_cast<std::uint16_t>(health.last_error.size()));
    value += health.last_error;
    txn.put(health_, endpoint.raw(), value);
  }

  void change_notice(transaction& txn, const id128& endpoint,
                     const notice_change& change) {
    const auto stored = txn.get(notices_, endpoint.raw());
    const std::optional<std::string> next =
        change(stored ? std::optional<std::string>(*stored) : std::nullopt);
    if (next) {
      txn.put(notices_, endpoint.raw(), *next);
    } else if (stored) {
      txn.erase(notices_, endpoint.raw());
    }
  }

  // The delivery behind a dead_letters key, if it is still dead-lettered.
  std::optional<delivery> dead_letter_at(const transaction& txn, std::string_view key) {
    storage::reader r(key);
    const id128 endpoint = r.id();
    r.u64();
    const id128 event = r.id();
    const std::string delivery_key = storage::delivery_key(event, endpoint);
    const auto record = txn.get(deliveries_, delivery_key);
    if (!record) return std::nullopt;
    delivery d = storage::decode_delivery(delivery_key, *record);
    if (d.status != delivery_status::dead_lettered) return std::nullopt;
    return d;
  }

  static std::string page_key(const delivery& d) { return storage::dead_letter_key(d); }

  std::vector<delivery> take_dead_letters(const transaction& txn,
                                          const std::optional<id128>& endpoint,
                                          std::size_t limit) {
    const std::string prefix = endpoint ? std::string(endpoint->raw()) : std::string();
    std::vector<delivery> letters;
    cursor c(txn, dead_letters_);
    for (auto e = seek_from(c, prefix);
         e && has_prefix(e->key, prefix) && letters.size() < limit; e = c.next()) {
      if (auto d = dead_letter_at(txn, e->key)) letters.push_back(*d);
    }
    return letters;
  }

  // A dead letter back in the queue: pending, due now, its retry budget anew. Its
  // event is unfinished again, so retention keeps it until the delivery ends.
  void replay_one(transaction& txn, delivery d, std::int64_t now_ms) {
    txn.erase(dead_letters_, storage::dead_letter_key(d));
    d.status = delivery_status::pending;
    d.retry_base = d.attempts;
    d.due_ms = now_ms;
    d.lease_until_ms = 0;
    d.completed_ms = 0;
    put_delivery(txn, d);

    auto counts = read_counts(txn, d.event);
    if (!counts) return;
    if (counts->pending == 0) {
      txn.erase(completed_, storage::time_key(counts->finished_ms, d.event.raw()));
      counts->finished_ms = 0;
    }
    ++counts->pending;
    txn.put(event_counts_, d.event.raw(), storage::encode_event_counts(*counts));
  }

  // One more of the event's deliveries finished; the last one finishes the event,
  // which starts its retention period.
  void count_down(transaction& txn, const id128& event_id, std::int64_t now_ms) {
    auto counts = read_counts(txn, event_id);
    if (!counts) return;
    if (counts->pending > 0) --counts->pending;
    if (counts->pending == 0) {
      counts->finished_ms = now_ms;
      txn.put(completed_, storage::time_key(now_ms, event_id.raw()), {});
    }
    txn.put(event_counts_, event_id.raw(), storage::encode_event_counts(*counts));
  }

  void erase_prefix(transaction& txn, MDB_dbi dbi, std::string_view prefix) {
    cursor c(txn, dbi);
    for (auto e = c.seek(prefix); e && has_prefix(e->key, prefix); e = c.seek(prefix)) {
      c.erase_current();
    }
  }

  void sweep_events(transaction& txn, const sweep_rules& rules, sweep_result& result) {
    const std::int64_t cutoff = rules.now_ms - rules.retention_ms;
    cursor c(txn, completed_);
    for (auto e = c.first(); e; e = c.first()) {
      storage::reader key(e->key);
      if (static_cast<std::int64_t>(key.u64()) >= cutoff) break;
      if (result.events >= rules.max_removals) {
        result.more = true;
        break;
      }
      const auto finished = static_cast<std::int64_t>(storage::reader(e->key).u64());
      const std::string event(key.rest());
      c.erase_current();

      // An entry left by an event replayed since (and maybe finished again later)
      // is stale: the event stays.
      if (const auto counts = read_counts(txn, id128::from_raw(event))) {
        if (counts->pending > 0 ||
            (counts->finished_ms != 0 && counts->finished_ms != finished)) {
          continue;
        }
      }
      erase_indexes_of(txn, event);
      txn.erase(events_, event);
      txn.erase(event_counts_, event);
      erase_prefix(txn, bodies_, event);
      erase_prefix(txn, deliveries_, event);
      erase_prefix(txn, attempts_, event);
      ++result.events;
    }
  }

  // The entries of an event's deliveries in the endpoint log and dead-letter queue.
  void erase_indexes_of(transaction& txn, std::string_view event) {
    cursor c(txn, deliveries_);
    for (auto e = c.seek(event); e && has_prefix(e->key, event); e = c.next()) {
      const delivery d = storage::decode_delivery(e->key, e->value);
      txn.erase(endpoint_log_, storage::log_key(d.endpoint, d.event));
      if (d.status == delivery_status::dead_lettered) {
        txn.erase(dead_letters_, storage::dead_letter_key(d));
      }
    }
  }

  void sweep_idempotency(transaction& txn, const sweep_rules& rules,
                         sweep_result& result) {
    const std::int64_t cutoff = rules.now_ms - rules.idempotency_ms;
    cursor c(txn, idempotency_time_);
    for (auto e = c.first(); e; e = c.first()) {
      storage::reader key(e->key);
      const auto created = static_cast<std::int64_t>(key.u64());
      if (created >= cutoff) break;
      if (result.idempotency_keys >= rules.max_removals) {
        result.more = true;
        break;
      }
      const std::string idempotency_key(key.rest());
      c.erase_current();

      // The key may have been used again since; only its expired use goes.
      const auto value = txn.get(idempotency_, idempotency_key);
      if (value) {
        storage::reader r(*value);
        r.id();
        if (static_cast<std::int64_t>(r.u64()) == created) {
          txn.erase(idempotency_, idempotency_key);
        }
      }
      ++result.idempotency_keys;
    }
  }

  const std::shared_ptr<storage::environment> shared_env_;
  storage::environment& env_;
  // Leases, apart from the data (docs/storage.md).
  const std::shared_ptr<storage::environment> shared_lease_env_;
  storage::environment& lease_env_;
  const std::int64_t idempotency_window_ms_;
  MDB_dbi endpoint_due_ = 0;
  MDB_dbi leases_ = 0;  // in lease_env_
  MDB_dbi event_counts_ = 0;
  MDB_dbi meta_ = 0, endpoints_ = 0, events_ = 0, bodies_ = 0, deliveries_ = 0,
          due_ = 0, completed_ = 0, idempotency_ = 0, idempotency_time_ = 0,
          attempts_ = 0, dead_letters_ = 0, health_ = 0, notices_ = 0,
          endpoint_log_ = 0, counters_ = 0;

  // Deliveries under a lease that this store took, or found taken by another store,
  // with the end of each lease. Changed once the transaction that makes it so has
  // committed.
  struct held_key {
    id128 event;
    id128 endpoint;
    held_key(const id128& e, const id128& p) : event(e), endpoint(p) {}
    // A delivery key (event id, endpoint id).
    explicit held_key(std::string_view key)
        : event(id128::from_raw(key.substr(0, 16))),
          endpoint(id128::from_raw(key.substr(16, 16))) {}
    bool operator==(const held_key&) const = default;
  };
  struct held_hash {
    std::size_t operator()(const held_key& k) const noexcept {
      // The last 8 bytes of an id are random.
      std::uint64_t a = 0;
      std::uint64_t b = 0;
      std::memcpy(&a, k.event.bytes.data() + 8, 8);
      std::memcpy(&b, k.endpoint.bytes.data() + 8, 8);
      return static_cast<std::size_t>(a ^ (b * 0x9e3779b97f4a7c15ULL));
    }
  };
  std::mutex held_mutex_;
  std::unordered_map<held_key, std::int64_t, held_hash> held_;  // guarded by it
  std::size_t held_sweep_at_ = kHeldSweepAt;                    // guarded by it

  std::mutex cache_mutex_;
  std::uint64_t cache_version_ = 0;  // guarded by cache_mutex_
  std::shared_ptr<const std::vector<endpoint>> active_cache_;  // guarded by it too
};

}  // namespace

std::string_view to_string(delivery_status status) {
  switch (status) {
    case delivery_status::pending: return "pending";
    case delivery_status::in_flight: return "in_flight";
    case delivery_status::succeeded: return "succeeded";
    case delivery_status::failed: return "failed";
    case delivery_status::dead_lettered: return "dead_lettered";
    case delivery_status::cancelled: return "cancelled";
  }
  return "unknown";
}

std::unique_ptr<store> open_lmdb_store(const lmdb_store_options& options) {
  return std::make_unique<lmdb_store>(options);
}

}  // namespace protekt
