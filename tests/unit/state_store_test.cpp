// The consumer's state store: what a save makes durable, and that it stays the size of the window.
#include "common/consumer/state_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "temp_dir.hpp"

namespace kd::consumer {
namespace {

using testing_support::TempDir;

TEST(StateStore, ANewStoreIsEmpty) {
  TempDir dir;
  auto store = StateStore::open(dir / "a/b/state.db", "order");
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto saved = (*store)->load();
  ASSERT_TRUE(saved.ok());
  EXPECT_TRUE(saved->positions.empty());
  EXPECT_TRUE(saved->windows.empty());
  EXPECT_EQ(saved->handler_state, "");
}

TEST(StateStore, LoadsWhatWasSavedAcrossReopen) {
  TempDir dir;
  ConsumerState state(/*window_records=*/1000);
  const std::string_view a = "1", b = "2";
  state.handled(0, 5, "{a}", &a, Sighting::first);
  state.handled(2, 9, "{b}", &b, Sighting::first);
  state.handled(2, 10, "not an order", nullptr, Sighting::first);
  {
    auto store = StateStore::open(dir / "state.db", "order");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->save(state.take_changes(), "handler bytes").ok());
  }
  auto store = StateStore::open(dir / "state.db", "order");
  ASSERT_TRUE(store.ok());
  auto saved = (*store)->load();
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(saved->handler_state, "handler bytes");
  EXPECT_EQ(saved->positions.at(0), (PartitionPosition{6, value_digest("{a}"), 5}));
  EXPECT_EQ(saved->positions.at(2), (PartitionPosition{11, value_digest("not an order"), 9}));
  EXPECT_EQ(saved->windows.at(2), (std::vector<DedupeWindow::Entry>{{9, 2, value_digest("{b}")}}));
}

// After many more records than the window holds, the file and what a restart reads are the window's size.
TEST(StateStore, StaysTheSizeOfTheWindowNotOfTheHistory) {
  TempDir dir;
  constexpr std::int64_t kWindow = 1000;
  ConsumerState state(kWindow);
  auto store = StateStore::open(dir / "state.db", "order");
  ASSERT_TRUE(store.ok());
  std::int64_t offset = 0;
  for (int batch = 0; batch < 400; ++batch) {
    for (int i = 0; i < 500; ++i, ++offset) {
      const std::string id = std::to_string(1'000'000 + offset);
      const std::string_view view = id;
      state.handled(0, offset, id, &view, Sighting::first);
    }
    ASSERT_TRUE((*store)->save(state.take_changes(), "{}").ok());
  }
  auto saved = (*store)->load();
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(saved->positions.at(0).next, 200'000);
  EXPECT_LE(saved->windows.at(0).size(), static_cast<std::size_t>(kWindow + 500))
      << "whole chunks below it pruned";
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) bytes += entry.file_size();
  EXPECT_LT(bytes, 6u << 20) << "200,000 records, a window of 1,000";
  ConsumerState restored(kWindow);
  restored.restore(0, saved->positions.at(0), saved->windows.at(0));
  EXPECT_EQ(restored.window_size(0), static_cast<std::size_t>(kWindow));
}

// Every save prunes the chunks below the window. At light load a chunk holds a record or two, so a full
// window is tens of thousands of chunks: the prune must visit the chunks it deletes, not all of them (it
// did, and a warehouse's save per batch grew from 1 to 20 ms as its window filled). Counted in SQLite's
// virtual-machine steps on the store's own file, so the test says how much work, not how long.
TEST(StateStore, PruningTheWindowVisitsOnlyTheChunksBelowIt) {
  TempDir dir;
  constexpr std::int64_t kWindow = 5'000;
  ConsumerState state(kWindow);
  auto store = StateStore::open(dir / "state.db", "order");
  ASSERT_TRUE(store.ok());
  std::int64_t offset = 0;
  const auto handle_one = [&] {
    const std::string id = std::to_string(1'000'000 + offset);
    const std::string_view view = id;
    state.handled(0, offset, id, &view, Sighting::first);
    ++offset;
  };
  for (int i = 0; i < kWindow; ++i) {  // a save a record, as at light load: a full window of chunks
    handle_one();
    ASSERT_TRUE((*store)->save(state.take_changes(), "{}").ok());
  }

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "state.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* prune = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, kPruneWindowChunksSql, -1, &prune, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_bind_int(prune, 1, 0);
  sqlite3_bind_int64(prune, 2, offset + 1 - kWindow);  // the start after one more record: one chunk goes
  ASSERT_EQ(sqlite3_step(prune), SQLITE_DONE);
  const int deleted = sqlite3_changes(db);
  const int steps = sqlite3_stmt_status(prune, SQLITE_STMTSTATUS_VM_STEP, 0);
  sqlite3_finalize(prune);
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);

  EXPECT_EQ(deleted, 1);
  EXPECT_LT(steps, 200) << "a scan of the partition's " << kWindow << " chunks takes tens of thousands";
}

TEST(StateStore, AFileThatIsNotAStateIsAStorageErrorNamingIt) {
  TempDir dir;
  testing_support::append_raw(dir / "state.db",
                              "this is not a database, it is text long enough to be read as one");
  auto store = StateStore::open(dir / "state.db", "order");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::storage);
  EXPECT_NE(store.error().message.find((dir / "state.db").string()), std::string::npos)
      << store.error().message;
}

}  // namespace
}  // namespace kd::consumer
