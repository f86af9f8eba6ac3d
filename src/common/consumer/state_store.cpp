#include "common/consumer/state_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace kd::consumer {
namespace {

constexpr std::string_view kFormat = "1";
constexpr std::size_t kEntryBytes = 24;  // offset, key, digest: three little-endian 64-bit numbers

void put_u64(std::string& out, std::uint64_t value) {
  for (int byte = 0; byte < 8; ++byte) out.push_back(static_cast<char>((value >> (8 * byte)) & 0xFF));
}

std::uint64_t get_u64(const unsigned char* in) {
  std::uint64_t value = 0;
  for (int byte = 7; byte >= 0; --byte) value = (value << 8) | in[byte];
  return value;
}

std::string encode_chunk(const std::vector<DedupeWindow::Entry>& entries) {
  std::string out;
  out.reserve(entries.size() * kEntryBytes);
  for (const auto& entry : entries) {
    put_u64(out, static_cast<std::uint64_t>(entry.offset));
    put_u64(out, entry.key);
    put_u64(out, entry.digest);
  }
  return out;
}

// A prepared statement, finalized when it goes.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { status_ = sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr); }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool prepared() const { return status_ == SQLITE_OK; }
  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(statement_, index, value);
    return *this;
  }
  Statement& bind(int index, std::string_view text, bool blob = false) {
    if (blob) {
      sqlite3_bind_blob64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    return *this;
  }
  // Runs a statement that returns no rows; true on success. Ready to run again afterwards.
  bool run() {
    const int code = sqlite3_step(statement_);
    sqlite3_reset(statement_);
    return code == SQLITE_DONE;
  }
  // The next row; false at the end (or on an error: then `failed()`).
  bool row() {
    status_ = sqlite3_step(statement_);
    return status_ == SQLITE_ROW;
  }
  bool failed() const { return status_ != SQLITE_ROW && status_ != SQLITE_DONE && status_ != SQLITE_OK; }
  std::int64_t integer(int column) { return sqlite3_column_int64(statement_, column); }
  std::string_view bytes(int column) {
    const void* data = sqlite3_column_blob(statement_, column);
    const int size = sqlite3_column_bytes(statement_, column);
    return data == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(data), size);
  }

 private:
  sqlite3_stmt* statement_ = nullptr;
  int status_ = SQLITE_OK;
};

// Locks `path` for this process, or says who holds it. The lock goes with the process, however it ends.
Result<int> lock_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(Errc::storage, "cannot open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char holder[32] = {};
    const auto length = ::pread(fd, holder, sizeof holder - 1, 0);
    ::close(fd);
    if (error == EWOULDBLOCK) {
      const std::string pid = length > 0 ? std::string(holder, static_cast<std::size_t>(length)) : "unknown";
      const auto state = path.parent_path() / path.stem();  // "<state>.db.lock" -> "<state>.db"
      return make_error(Errc::storage, "the state " + state.string() + " is in use by another process (pid " +
                                           pid +
                                           "): one partition's state has one writer, or it would act twice");
    }
    return make_error(Errc::storage, "cannot lock " + path.string() + ": " + std::strerror(error));
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Only the message of a second process loses the pid; the lock holds.
  }
  return fd;
}

}  // namespace

Error StateStore::failure(std::string_view what) const {
  return make_error(Errc::storage, std::string(what) + " (" + path_.string() + "): " +
                                       (db_ != nullptr ? sqlite3_errmsg(db_) : "cannot open the database"));
}

Status StateStore::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return failure(sql);
  return Ok{};
}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::filesystem::path& path,
                                                     std::string_view topic) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    return make_error(Errc::storage, "cannot create " + path.parent_path().string() + ": " + ec.message());
  auto lock = lock_file(path.string() + ".lock");
  if (!lock) return lock.error();
  std::unique_ptr<StateStore> store(new StateStore(path, *lock));
  if (sqlite3_open_v2(path.c_str(), &store->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return store->failure("cannot open the state");
  }
  // WAL: a save appends to the log and syncs it once (FULL: durable when the commit returns). The log is
  // folded into the database every 1,000 pages and then cut back to 4 MB, so it stays small too.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA journal_size_limit=4194304", "PRAGMA busy_timeout=1000"}) {
    if (auto status = store->exec(pragma); !status) return status.error();
  }
  const char* schema =
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS positions (partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL,"
      " last_digest INTEGER NOT NULL, covered_from INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS window_chunks (partition INTEGER NOT NULL, first_offset INTEGER NOT NULL,"
      " last_offset INTEGER NOT NULL, entries BLOB NOT NULL, PRIMARY KEY (partition, first_offset)) WITHOUT "
      "ROWID;";
  if (auto status = store->exec(schema); !status) return status.error();

  // The file says which topic and format it holds; a mismatch is refused rather than resumed from.
  Statement read_meta(store->db_, "SELECT key, value FROM meta WHERE key IN ('format', 'topic')");
  if (!read_meta.prepared()) return store->failure("cannot read the state");
  std::map<std::string, std::string, std::less<>> meta;
  while (read_meta.row()) meta[std::string(read_meta.bytes(0))] = std::string(read_meta.bytes(1));
  if (read_meta.failed()) return store->failure("cannot read the state");
  if (meta.empty()) {
    Statement write_meta(store->db_, "INSERT INTO meta (key, value) VALUES (?1, ?2)");
    if (!write_meta.prepared() || !write_meta.bind(1, "format").bind(2, kFormat).run() ||
        !write_meta.bind(1, "topic").bind(2, topic).run()) {
      return store->failure("cannot initialise the state");
    }
  } else if (meta["format"] != kFormat || meta["topic"] != topic) {
    return make_error(Errc::storage, "the state " + path.string() + " holds format " + meta["format"] +
                                         " of topic '" + meta["topic"] + "', not format " +
                                         std::string(kFormat) + " of topic '" + std::string(topic) + "'");
  }
  return store;
}

StateStore::~StateStore() {
  sqlite3_close_v2(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<SavedState> StateStore::load() {
  SavedState saved;
  Statement positions(db_, "SELECT partition, next_offset, last_digest, covered_from FROM positions");
  if (!positions.prepared()) return failure("cannot read positions");
  while (positions.row()) {
    const auto partition = positions.integer(0);
    const PartitionPosition position{positions.integer(1), static_cast<std::uint64_t>(positions.integer(2)),
                                     positions.integer(3)};
    if (partition < 0 || partition > std::numeric_limits<int>::max() || position.next < 0 ||
        position.covered_from < 0 || position.covered_from > position.next) {
      return make_error(Errc::storage, "the state " + path_.string() +
                                           " has a malformed position of partition " +
                                           std::to_string(partition));
    }
    saved.positions[static_cast<int>(partition)] = position;
  }
  if (positions.failed()) return failure("cannot read positions");

  Statement chunks(db_, "SELECT partition, entries FROM window_chunks ORDER BY partition, first_offset");
  if (!chunks.prepared()) return failure("cannot read the dedupe window");
  while (chunks.row()) {
    const auto partition = static_cast<int>(chunks.integer(0));
    const std::string_view bytes = chunks.bytes(1);
    if (bytes.size() % kEntryBytes != 0 || !saved.positions.contains(partition)) {
      return make_error(Errc::storage, "the state " + path_.string() +
                                           " has a malformed window chunk of partition " +
                                           std::to_string(partition));
    }
    auto& window = saved.windows[partition];
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    for (std::size_t at = 0; at < bytes.size(); at += kEntryBytes) {
      window.push_back(
          {static_cast<std::int64_t>(get_u64(data + at)), get_u64(data + at + 8), get_u64(data + at + 16)});
    }
  }
  if (chunks.failed()) return failure("cannot read the dedupe window");

  Statement handler(db_, "SELECT value FROM meta WHERE key = 'handler'");
  if (!handler.prepared()) return failure("cannot read the handler's state");
  if (handler.row()) saved.handler_state = std::string(handler.bytes(0));
  if (handler.failed()) return failure("cannot read the handler's state");
  return saved;
}

Status StateStore::save(const StateChanges& changes, std::string_view handler_state) {
  if (auto status = exec("BEGIN IMMEDIATE"); !status) return status;
  bool ok = true;
  {
    Statement add_chunk(db_,
                        "INSERT OR REPLACE INTO window_chunks (partition, first_offset, last_offset, entries)"
                        " VALUES (?1, ?2, ?3, ?4)");
    Statement prune(db_, kPruneWindowChunksSql);
    Statement position(db_,
                       "INSERT OR REPLACE INTO positions (partition, next_offset, last_digest, covered_from)"
                       " VALUES (?1, ?2, ?3, ?4)");
    Statement handler(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('handler', ?1)");
    ok = add_chunk.prepared() && prune.prepared() && position.prepared() && handler.prepared();
    for (const auto& [partition, entries] : changes.added) {
      if (!ok || entries.empty()) continue;
      ok = add_chunk.bind(1, partition)
               .bind(2, entries.front().offset)
               .bind(3, entries.back().offset)
               .bind(4, encode_chunk(entries), /*blob=*/true)
               .run();
    }
    for (const auto& [partition, start] : changes.window_start) {
      if (ok) ok = prune.bind(1, partition).bind(2, start).run();
    }
    for (const auto& [partition, where] : changes.positions) {
      if (ok) {
        ok = position.bind(1, partition)
                 .bind(2, where.next)
                 .bind(3, static_cast<std::int64_t>(where.last_digest))
                 .bind(4, where.covered_from)
                 .run();
      }
    }
    if (ok) ok = handler.bind(1, handler_state, /*blob=*/true).run();
  }
  if (!ok) {
    const Error error = failure("cannot save the state");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);  // the error above says what failed
    return error;
  }
  if (auto status = exec("COMMIT"); !status) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }
  return Ok{};
}

}  // namespace kd::consumer
