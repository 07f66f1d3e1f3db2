// Thin RAII layer over LMDB's C API. Every LMDB return code becomes a typed exception
// in one place (check()); "not found" is a value (std::nullopt), never an exception.
//
// The map grows by itself: a write that fills it is retried after the map doubles
// (environment::run_write). Growing needs every transaction of this process closed, so
// each transaction holds the environment's resize lock shared, and growth takes it
// exclusively.
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string_view>

namespace protekt::storage {

// Thrown by check() for MDB_MAP_FULL; run_write() catches it and grows the map.
struct map_full {};

// REQUIRES: rc is an LMDB or errno code. Returns on MDB_SUCCESS; throws map_full for
// MDB_MAP_FULL and protekt::storage_error, saying what was being done, otherwise.
void check(int rc, std::string_view what);

struct environment_options {
  std::filesystem::path directory;
  std::size_t initial_map_size = std::size_t{64} << 20;
  std::size_t max_map_size = std::size_t{1} << 40;
  unsigned max_databases = 16;
  // For contents that do not outlive the machine's uptime: commits are never synced
  // to disk (MDB_NOSYNC), so a crash of the machine may leave the files corrupt, and
  // whoever opens them after a restart of the machine must start them anew. A crash
  // of the process loses nothing.
  bool unsynced = false;
};

class transaction;
class environment;

// How far a write transaction's commit goes before run_write returns.
enum class durability {
  // On disk: the commit survives a crash of the machine.
  synced,
  // Its pages are on disk but its root (LMDB's meta page) may not be yet, so a crash
  // of the machine, not of the process, may undo the last such commits; never a
  // commit made synced, never an earlier one, and never half of one. For writes that
  // are made again when lost: delivery outcomes.
  relaxed,
};

// The environment of a directory, shared by everything in this process that opens it:
// LMDB must not have one file open twice in a process (closing either would drop the
// other's locks). THROWS storage_error.
std::shared_ptr<environment> open_environment(const environment_options& options);

// One LMDB environment (data.mdb and lock.mdb in a directory). Thread-safe; shared by
// every transaction opened on it, which must all end before it is destroyed.
class environment {
 public:
  // Creates the directory (mode 0700) when missing. THROWS storage_error.
  explicit environment(const environment_options& options);
  ~environment();
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;

  MDB_env* native() const noexcept { return env_; }
  const std::filesystem::path& directory() const noexcept { return directory_; }

  // Opens (creating) a named database. Call before concurrent use.
  MDB_dbi open_database(transaction& txn, const char* name, unsigned flags = 0);

  // Runs body in a write transaction and commits it. When the map is full, the
  // transaction is aborted, the map doubled (up to max_map_size) and body run again,
  // so body must be repeatable. THROWS storage_error; body's exceptions propagate
  // after an abort.
  void run_write(const std::function<void(transaction&)>& body,
                 durability how = durability::synced);

  std::size_t map_size() const;

 private:
  friend class transaction;

  void grow();
  void adopt_external_growth();

  MDB_env* env_ = nullptr;
  std::filesystem::path directory_;
  std::size_t max_map_size_;
  bool unsynced_;
  mutable std::shared_mutex resize_mutex_;  // shared by transactions, unique to resize
};

// A read or write transaction. Not thread-safe; use it on the thread that opened it.
class transaction {
 public:
  // THROWS storage_error.
  transaction(environment& env, bool write);
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  // THROWS map_full or storage_error; the transaction is finished either way.
  void commit();
  void abort() noexcept;

  MDB_txn* native() const noexcept { return txn_; }

  // The value, valid until the transaction ends or writes; nullopt when absent.
  std::optional<std::string_view> get(MDB_dbi dbi, std::string_view key) const;
  void put(MDB_dbi dbi, std::string_view key, std::string_view value,
           unsigned flags = 0);
  // Returns false when the key was absent.
  bool erase(MDB_dbi dbi, std::string_view key);

 private:
  std::shared_lock<std::shared_mutex> resize_lock_;
  MDB_txn* txn_ = nullptr;
};

// A cursor over one database, valid within its transaction.
class cursor {
 public:
  cursor(const transaction& txn, MDB_dbi dbi);
  ~cursor();
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;

  struct entry {
    std::string_view key;
    std::string_view value;
  };

  // The first entry with a key >= key; nullopt past the end.
  std::optional<entry> seek(std::string_view key);
  std::optional<entry> first();
  std::optional<entry> next();
  std::optional<entry> last();
  std::optional<entry> prev();
  // The last entry with a key < key; nullopt before the start.
  std::optional<entry> seek_before(std::string_view key);
  // Deletes the entry under the cursor (write transactions only).
  void erase_current();

 private:
  std::optional<entry> get(MDB_cursor_op op, std::string_view key = {});

  MDB_cursor* cursor_ = nullptr;
};

}  // namespace protekt::storage
