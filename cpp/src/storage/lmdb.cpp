#include "storage/lmdb.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "protekt/error.hpp"

namespace protekt::storage {
namespace {

MDB_val to_val(std::string_view bytes) {
  return {bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view from_val(const MDB_val& val) {
  return {static_cast<const char*>(val.mv_data), val.mv_size};
}

std::string advice(int rc) {
  switch (rc) {
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
      return "; the disk is full: free space (or raise the file size limit) and retry";
    case EIO:
      return "; writing stopped part-way, which usually means the disk is full: free "
             "space and retry, and check the disk if it is not full";
    case EACCES:
    case EPERM:
    case EROFS: return "; check that the data directory is writable by this process";
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
      return "; the data file is damaged or not an LMDB file: restore it from a backup";
    case MDB_READERS_FULL:
      return "; too many processes or threads have the directory open at once";
    default: return "";
  }
}

}  // namespace

void check(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) return;
  if (rc == MDB_MAP_FULL) throw map_full{};
  throw storage_error(rc, "could not " + std::string(what) + ": " + mdb_strerror(rc) +
                              advice(rc) + "; nothing committed before is affected");
}

// ---- environment -----------------------------------------------------------------

std::shared_ptr<environment> open_environment(const environment_options& options) {
  static std::mutex mutex;
  static auto* open =
      new std::map<std::pair<dev_t, ino_t>, std::weak_ptr<environment>>();

  std::error_code ec;
  if (std::filesystem::create_directories(options.directory, ec)) {
    ::chmod(options.directory.c_str(), 0700);
  }
  struct stat info {};
  if (ec || ::stat(options.directory.c_str(), &info) != 0) {
    const int code = ec ? ec.value() : errno;
    throw storage_error(code, "could not open the data directory " +
                                  options.directory.string() + ": " +
                                  std::strerror(code));
  }

  std::lock_guard lock(mutex);
  auto& slot = (*open)[{info.st_dev, info.st_ino}];
  if (auto env = slot.lock()) return env;
  auto env = std::make_shared<environment>(options);
  slot = env;
  return env;
}

environment::environment(const environment_options& options)
    : directory_(options.directory),
      max_map_size_(options.max_map_size),
      unsynced_(options.unsynced) {
  // A directory made here holds secrets: only its owner may enter it.
  std::error_code ec;
  if (std::filesystem::create_directories(directory_, ec)) {
    ::chmod(directory_.c_str(), 0700);
  }
  if (ec) {
    throw storage_error(ec.value(), "could not create the data directory " +
                                        directory_.string() + ": " + ec.message());
  }

  check(mdb_env_create(&env_), "create an LMDB environment");
  try {
    check(mdb_env_set_maxdbs(env_, options.max_databases), "set the database count");
    check(mdb_env_set_mapsize(env_, options.initial_map_size), "set the map size");
    check(mdb_env_set_maxreaders(env_, 1022), "set the reader count");

    // NOTLS: read transactions are not tied to threads (the engine's threads share
    // the environment). NORDAHEAD: a large queue must not fill memory with pages it
    // will not read. NOMETASYNC: a commit syncs its pages but not its meta page;
    // run_write syncs that too unless the write is relaxed (see durability).
    // NOSYNC: see environment_options::unsynced.
    const unsigned sync = options.unsynced ? MDB_NOSYNC : MDB_NOMETASYNC;
    check(
        mdb_env_open(env_, directory_.c_str(), MDB_NOTLS | MDB_NORDAHEAD | sync, 0600),
        "open the data directory " + directory_.string());
  } catch (...) {
    mdb_env_close(env_);
    throw;
  }
}

environment::~environment() {
  mdb_env_close(env_);
}

MDB_dbi environment::open_database(transaction& txn, const char* name, unsigned flags) {
  MDB_dbi dbi = 0;
  check(mdb_dbi_open(txn.native(), name, flags | MDB_CREATE, &dbi),
        std::string("open the database ") + name);
  return dbi;
}

std::size_t environment::map_size() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

void environment::run_write(const std::function<void(transaction&)>& body,
                            durability how) {
  while (true) {
    try {
      transaction txn(*this, true);
      body(txn);
      txn.commit();
      // The meta page, and with it any relaxed commit before this one.
      if (how == durability::synced && !unsynced_) {
        check(mdb_env_sync(env_, 1), "sync to disk");
      }
      return;
    } catch (const map_full&) {
      // The transaction is gone; the map can grow now.
    }
    grow();
  }
}

void environment::grow() {
  std::unique_lock lock(resize_mutex_);
  const std::size_t current = map_size();
  if (current >= max_map_size_) {
    throw storage_error(MDB_MAP_FULL,
                        "the data directory reached its maximum size of " +
                            std::to_string(max_map_size_ >> 20) +
                            " MiB; raise max_map_size or lower retention");
  }
  const std::size_t next = std::min(current * 2, max_map_size_);
  check(mdb_env_set_mapsize(env_, next), "grow the map");
}

void environment::adopt_external_growth() {
  std::unique_lock lock(resize_mutex_);
  check(mdb_env_set_mapsize(env_, 0), "adopt the map size another process set");
}

// ---- transaction -----------------------------------------------------------------

transaction::transaction(environment& env, bool write) {
  while (true) {
    resize_lock_ = std::shared_lock(env.resize_mutex_);
    const int rc = mdb_txn_begin(env.native(), nullptr, write ? 0 : MDB_RDONLY, &txn_);
    if (rc != MDB_MAP_RESIZED) {
      check(rc, write ? "start a write transaction" : "start a read transaction");
      return;
    }

    // Another process grew the map: adopt its size, which needs no open
    // transactions here, then start again.
    resize_lock_.unlock();
    env.adopt_external_growth();
  }
}

transaction::~transaction() {
  abort();
}

void transaction::commit() {
  MDB_txn* txn = txn_;
  txn_ = nullptr;
  const int rc = mdb_txn_commit(txn);
  resize_lock_ = {};
  check(rc, "commit a transaction");
}

void transaction::abort() noexcept {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
  resize_lock_ = {};
}

std::optional<std::string_view> transaction::get(MDB_dbi dbi,
                                                 std::string_view key) const {
  MDB_val k = to_val(key);
  MDB_val v;
  const int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "read a record");
  return from_val(v);
}

void transaction::put(MDB_dbi dbi, std::string_view key, std::string_view value,
                      unsigned flags) {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  check(mdb_put(txn_, dbi, &k, &v, flags), "write a record");
}

bool transaction::erase(MDB_dbi dbi, std::string_view key) {
  MDB_val k = to_val(key);
  const int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "delete a record");
  return true;
}

// ---- cursor ----------------------------------------------------------------------

cursor::cursor(const transaction& txn, MDB_dbi dbi) {
  check(mdb_cursor_open(txn.native(), dbi, &cursor_), "open a cursor");
}

cursor::~cursor() {
  mdb_cursor_close(cursor_);
}

std::optional<cursor::entry> cursor::get(MDB_cursor_op op, std::string_view key) {
  MDB_val k = to_val(key);
  MDB_val v;
  const int rc = mdb_cursor_get(cursor_, &k, &v, op);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "read with a cursor");
  return entry{from_val(k), from_val(v)};
}

std::optional<cursor::entry> cursor::seek(std::string_view key) {
  return get(MDB_SET_RANGE, key);
}

std::optional<cursor::entry> cursor::first() {
  return get(MDB_FIRST);
}

std::optional<cursor::entry> cursor::next() {
  return get(MDB_NEXT);
}

std::optional<cursor::entry> cursor::last() {
  return get(MDB_LAST);
}

std::optional<cursor::entry> cursor::prev() {
  return get(MDB_PREV);
}

std::optional<cursor::entry> cursor::seek_before(std::string_view key) {
  return seek(key) ? prev() : last();
}

void cursor::erase_current() {
  check(mdb_cursor_del(cursor_, 0), "delete a record");
}

}  // namespace protekt::storage
