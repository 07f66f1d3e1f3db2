// Engine benchmark for issue #3: the raw LMDB baseline that durable emit is held to.
//
// It stores what the engine stores for one event with one subscribed endpoint whose
// payload is the full envelope (cpp/src/storage/lmdb_store.cpp, append_one; layouts in
// docs/storage.md): an event record, a delivery record and its keys in the two due
// indexes (`due` and `endpoint_due`). BATCH
// events go into one write transaction, committed with LMDB's default full sync, in a
// fresh environment opened with the engine's flags (MDB_NOTLS | MDB_NORDAHEAD). There
// is nothing else: no queue, no threads, no endpoint look-up, no JSON. The records are
// built inside the timed loop, as the engine builds its own per event.
//
// Usage:
//   bench_lmdb_raw BATCH COUNT ENVELOPE_FILE
//     puts COUNT events (COUNT / BATCH transactions) into a temporary directory,
//     removed afterwards, and prints one line of key=value pairs, events_per_s among
//     them. ENVELOPE_FILE holds the JSON envelope to store (bench_engine.py writes the
//     one the engine stored for its sample event).
//   bench_lmdb_raw --inspect DIR
//     prints the last transaction id and each database's entries and pages of an
//     existing data directory, read-only; bench_engine.py uses it to count the
//     engine's commits and to break its disk use down.
#include <lmdb.h>
#include <stdlib.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Large enough for any count this is run with, so the map never grows mid-run (the
// engine's doubling happens a handful of times per million events).
constexpr std::size_t kMapSize = std::size_t{64} << 30;
constexpr unsigned kMaxDatabases = 16;
constexpr unsigned kEnvFlags = MDB_NOTLS | MDB_NORDAHEAD;
constexpr std::string_view kEventType = "user.login.succeeded";
constexpr std::uint8_t kRecordVersion = 1;
constexpr std::uint8_t kFullEnvelope = 0xff;

// The engine's databases, in the order it opens them.
constexpr std::array<const char*, 10> kDatabases = {
    "meta", "endpoints",    "events",    "bodies",      "deliveries",
    "due",  "endpoint_due", "completed", "idempotency", "idempotency_time",
};

void check(int rc, const std::string& what) {
  if (rc != MDB_SUCCESS) {
    throw std::runtime_error("could not " + what + ": " + mdb_strerror(rc));
  }
}

MDB_val to_val(std::string_view bytes) {
  return {bytes.size(), const_cast<char*>(bytes.data())};
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(v >> shift & 0xff));
  }
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(v >> shift & 0xff));
  }
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Ids shaped like the engine's: 6 bytes of milliseconds, then 10 bytes that start
// random in each millisecond and count up within it, so keys arrive in order.
class id_source {
 public:
  std::string next(std::int64_t now_ms) {
    if (now_ms > last_ms_) {
      last_ms_ = now_ms;
      for (int i = 5; i >= 0; --i) {
        bytes_[static_cast<std::size_t>(i)] = static_cast<char>(now_ms & 0xff);
        now_ms >>= 8;
      }
      for (std::size_t i = 6; i < bytes_.size(); ++i) {
        bytes_[i] = static_cast<char>(random_() & 0xff);
      }
      return bytes_;
    }
    for (std::size_t i = bytes_.size() - 1; i >= 6; --i) {
      if (++bytes_[i] != 0) break;
    }
    return bytes_;
  }

 private:
  std::string bytes_ = std::string(16, '\0');
  std::int64_t last_ms_ = 0;
  std::mt19937_64 random_{std::random_device{}()};
};

// The records of one event with one delivery, as append_one lays them out.
struct event_records {
  std::string event_key;
  std::string event_value;
  std::string delivery_key;
  std::string delivery_value;
  std::string due_key;
  std::string endpoint_due_key;
};

std::string delivery_value(std::int64_t created_ms) {
  std::string out;
  out.reserve(44);
  out.push_back(static_cast<char>(kRecordVersion));
  out.push_back(0);  // status: pending
  out.push_back(static_cast<char>(kFullEnvelope));
  out.push_back(0);
  out.append(4, '\0');  // attempts, reserved
  put_u64(out, static_cast<std::uint64_t>(created_ms));
  put_u64(out, static_cast<std::uint64_t>(created_ms));  // due now
  put_u64(out, 0);                                       // lease
  put_u64(out, 0);                                       // completed
  put_u32(out, 0);                                       // last HTTP status
  return out;
}

event_records make_records(id_source& ids, std::string_view endpoint,
                           std::string_view envelope) {
  const std::int64_t now_ms = unix_now_ms();
  event_records r;
  r.event_key = ids.next(now_ms);

  r.event_value.reserve(16 + kEventType.size() + envelope.size());
  r.event_value.push_back(static_cast<char>(kRecordVersion));
  r.event_value.push_back(static_cast<char>(kEventType.size()));
  r.event_value.append(kEventType);
  put_u64(r.event_value, static_cast<std::uint64_t>(now_ms));
  put_u32(r.event_value, 1);  // pending deliveries
  r.event_value.append(envelope);

  r.delivery_key = r.event_key + std::string(endpoint);
  r.delivery_value = delivery_value(now_ms);
  put_u64(r.due_key, static_cast<std::uint64_t>(now_ms));
  r.due_key += r.delivery_key;
  r.endpoint_due_key = std::string(endpoint);
  put_u64(r.endpoint_due_key, static_cast<std::uint64_t>(now_ms));
  r.endpoint_due_key += r.event_key;
  return r;
}

// One LMDB environment in a directory of its own, with the engine's databases.
class raw_environment {
 public:
  // REQUIRES: directory exists. THROWS std::runtime_error.
  explicit raw_environment(const fs::path& directory) {
    check(mdb_env_create(&env_), "create the environment");
    check(mdb_env_set_maxdbs(env_, kMaxDatabases), "set the database count");
    check(mdb_env_set_mapsize(env_, kMapSize), "set the map size");
    check(mdb_env_open(env_, directory.c_str(), kEnvFlags, 0600),
          "open " + directory.string());
    open_databases();
  }
  ~raw_environment() { mdb_env_close(env_); }
  raw_environment(const raw_environment&) = delete;
  raw_environment& operator=(const raw_environment&) = delete;

  // Puts every event's records in one transaction and commits it durably.
  void put_batch(const std::vector<event_records>& batch) {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "begin a write transaction");
    try {
      for (const event_records& r : batch) put_event(txn, r);
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
    check(mdb_txn_commit(txn), "commit");
  }

 private:
  void open_databases() {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "begin a write transaction");
    check(mdb_dbi_open(txn, "events", MDB_CREATE, &events_), "open events");
    check(mdb_dbi_open(txn, "deliveries", MDB_CREATE, &deliveries_), "open deliveries");
    check(mdb_dbi_open(txn, "due", MDB_CREATE, &due_), "open due");
    check(mdb_dbi_open(txn, "endpoint_due", MDB_CREATE, &endpoint_due_),
          "open endpoint_due");
    check(mdb_txn_commit(txn), "commit the databases");
  }

  // In append_one's order: delivery, due keys, then the event, which must be new.
  void put_event(MDB_txn* txn, const event_records& r) {
    put(txn, deliveries_, r.delivery_key, r.delivery_value, 0);
    put(txn, due_, r.due_key, {}, 0);
    put(txn, endpoint_due_, r.endpoint_due_key, {}, 0);
    put(txn, events_, r.event_key, r.event_value, MDB_NOOVERWRITE);
  }

  static void put(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                  std::string_view value, unsigned flags) {
    MDB_val k = to_val(key);
    MDB_val v = to_val(value);
    check(mdb_put(txn, dbi, &k, &v, flags), "put a record");
  }

  MDB_env* env_ = nullptr;
  MDB_dbi events_ = 0, deliveries_ = 0, due_ = 0, endpoint_due_ = 0;
};

// A fresh temporary directory, removed with this object.
class temp_directory {
 public:
  temp_directory() {
    std::string pattern =
        (fs::temp_directory_path() / "protekt-bench-raw-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("could not create a temporary directory");
    }
    path_ = pattern;
  }
  ~temp_directory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  temp_directory(const temp_directory&) = delete;
  temp_directory& operator=(const temp_directory&) = delete;

  const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("could not read ") + path);
  return {std::istreambuf_iterator<char>(in), {}};
}

int run_puts(std::size_t batch_size, std::size_t count, const std::string& envelope) {
  const temp_directory directory;
  raw_environment env(directory.path());
  id_source ids;
  const std::string endpoint = ids.next(unix_now_ms());

  // Timed: building the records and committing them, batch after batch.
  std::vector<event_records> batch;
  batch.reserve(batch_size);
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t done = 0; done < count; done += batch.size()) {
    batch.clear();
    while (batch.size() < batch_size && done + batch.size() < count) {
      batch.push_back(make_records(ids, endpoint, envelope));
    }
    env.put_batch(batch);
  }
  const std::chrono::duration<double> elapsed =
      std::chrono::steady_clock::now() - start;

  const std::size_t commits = (count + batch_size - 1) / batch_size;
  std::printf("batch=%zu count=%zu commits=%zu seconds=%.4f events_per_s=%.1f\n",
              batch_size, count, commits, elapsed.count(),
              static_cast<double>(count) / elapsed.count());
  return 0;
}

void print_database(MDB_txn* txn, const char* name) {
  MDB_dbi dbi = 0;
  if (mdb_dbi_open(txn, name, 0, &dbi) != MDB_SUCCESS) return;  // never created
  MDB_stat s;
  check(mdb_stat(txn, dbi, &s), std::string("read the size of ") + name);
  std::printf("db=%s entries=%zu depth=%u pages=%zu overflow_pages=%zu\n", name,
              s.ms_entries, s.ms_depth,
              s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages,
              s.ms_overflow_pages);
}

int run_inspect(const char* directory) {
  MDB_env* env = nullptr;
  check(mdb_env_create(&env), "create the environment");
  check(mdb_env_set_maxdbs(env, kMaxDatabases), "set the database count");
  check(mdb_env_open(env, directory, kEnvFlags | MDB_RDONLY, 0600),
        std::string("open ") + directory);

  MDB_envinfo info;
  MDB_stat env_stat;
  check(mdb_env_info(env, &info), "read the environment");
  check(mdb_env_stat(env, &env_stat), "read the page size");
  std::printf("last_txnid=%zu last_pgno=%zu page_size=%u map_size=%zu\n",
              info.me_last_txnid, info.me_last_pgno, env_stat.ms_psize,
              info.me_mapsize);

  MDB_txn* txn = nullptr;
  check(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), "begin a read transaction");
  for (const char* name : kDatabases) print_database(txn, name);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: bench_lmdb_raw BATCH COUNT ENVELOPE_FILE\n"
               "       bench_lmdb_raw --inspect DIR\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3 && std::string_view(argv[1]) == "--inspect") {
      return run_inspect(argv[2]);
    }
    if (argc != 4) return usage();
    const auto batch_size = std::strtoull(argv[1], nullptr, 10);
    const auto count = std::strtoull(argv[2], nullptr, 10);
    if (batch_size == 0 || count == 0) return usage();
    return run_puts(batch_size, count, read_file(argv[3]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_lmdb_raw: %s\n", e.what());
    return 1;
  }
}
