// A consumer's durable state: each partition's position, its dedupe window and the handler's own state
// (the shop's figures, the warehouse's count), saved together in one SQLite transaction, so a restart
// resumes at exactly the first record the saved state does not include.
//
// SQLite in WAL mode with synchronous=FULL: a save is one fsync of the write-ahead log, and a crash
// mid-save leaves the last whole transaction (a torn tail of the log is ignored by SQLite's recovery).
// The window is saved as one row per partition per save, a packed chunk of its new entries, and chunks
// wholly below the window are deleted in the same transaction: the file stays proportional to the window,
// never to the history, and opening it reads only the window.
//
// One writer: the store holds an exclusive flock on "<file>.lock" for its whole life, so a second process
// for the same state (a stale pod, a second instance of one partition) cannot start and ship twice.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/consumer/consumer_state.hpp"
#include "common/result.hpp"

struct sqlite3;

namespace kd::consumer {

// Deletes the chunks of partition ?1 wholly below offset ?2, the window's new start; run by every save.
// Chunks never overlap, so a chunk ending below the start also begins below it: the condition on
// first_offset makes this a range of the primary key (the chunks being deleted and at most one more)
// instead of a scan of all the partition's chunks, which at light load (a chunk per record or two) grew to
// 100,000 rows and took the warehouse's save per batch from 1 to 20 ms within minutes. Named here for
// the unit test that counts the rows it visits.
inline constexpr const char* kPruneWindowChunksSql =
    "DELETE FROM window_chunks WHERE partition = ?1 AND first_offset < ?2 AND last_offset < ?2";

struct SavedState {
  std::map<int, PartitionPosition> positions;
  std::map<int, std::vector<DedupeWindow::Entry>> windows;  // per partition, in offset order
  std::string handler_state;                                // empty when never saved
};

class StateStore {
 public:
  // Opens or creates the store of `topic` at `path`, and locks it. Errors: storage (cannot open, lock
  // held by another process, or the file is of another topic or format).
  static Result<std::unique_ptr<StateStore>> open(const std::filesystem::path& path, std::string_view topic);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  Result<SavedState> load();
  // Makes the changes and the handler's state durable together.
  Status save(const StateChanges& changes, std::string_view handler_state);

  const std::filesystem::path& path() const { return path_; }

 private:
  StateStore(std::filesystem::path path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}
  Status exec(const char* sql);
  Error failure(std::string_view what) const;

  std::filesystem::path path_;
  int lock_fd_ = -1;
  sqlite3* db_ = nullptr;
};

}  // namespace kd::consumer
