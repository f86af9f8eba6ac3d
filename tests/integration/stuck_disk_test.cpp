// A disk whose sync does not return: the consumer thread of the warehouse or of statistics waits in it,
// and the I/O thread must go on answering /shipments, /stats, /positions, /progress, /metrics, /healthz and
// /readyz, none of which may wait for the consumer's work (issue 11: readiness stayed green while a slow
// disk stalled the HTTP side behind the state lock).
//
// The disk is this test binary's own fsync and fdatasync: defined here, they take the place of libc's for
// SQLite (a shared library resolves them to the executable's definitions first), and hold every caller
// while the test says so. Its own executable, so that no other test meets them.
#include <dlfcn.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "consumer_configs.hpp"

namespace {

std::mutex disk_mutex;
std::condition_variable disk_changed;
bool disk_held = false;  // guarded by disk_mutex
int syncs_waiting = 0;   // guarded by disk_mutex

void wait_while_held() {
  std::unique_lock lock(disk_mutex);
  if (!disk_held) return;
  ++syncs_waiting;
  disk_changed.notify_all();
  disk_changed.wait(lock, [] { return !disk_held; });
  --syncs_waiting;
}

template <class Function>
Function real(const char* name) {
  static_assert(sizeof(Function) == sizeof(void*));
  Function function;
  void* symbol = ::dlsym(RTLD_NEXT, name);
  std::memcpy(&function, &symbol, sizeof symbol);
  return function;
}

}  // namespace

extern "C" int fsync(int fd) {
  static const auto next = real<int (*)(int)>("fsync");
  wait_while_held();
  return next(fd);
}

extern "C" int fdatasync(int fd) {
  static const auto next = real<int (*)(int)>("fdatasync");
  wait_while_held();
  return next(fd);
}

namespace kd::test {
namespace {

// Holds every sync from construction to release() (or destruction).
class StuckDisk {
 public:
  StuckDisk() {
    std::lock_guard lock(disk_mutex);
    disk_held = true;
  }
  ~StuckDisk() { release(); }
  // True once a sync waits in it, within `limit`.
  bool caught(std::chrono::milliseconds limit) {
    std::unique_lock lock(disk_mutex);
    return disk_changed.wait_for(lock, limit, [] { return syncs_waiting > 0; });
  }
  int waiting() {
    std::lock_guard lock(disk_mutex);
    return syncs_waiting;
  }
  void release() {
    std::lock_guard lock(disk_mutex);
    disk_held = false;
    disk_changed.notify_all();
  }
};

// One GET on a fresh connection, given up after `limit`: the status, or 0 when no answer came in time.
unsigned get_within(std::uint16_t port, const std::string& target, std::chrono::milliseconds limit) {
  asio::io_context io;
  unsigned status = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        beast::tcp_stream stream(co_await asio::this_coro::executor);
        stream.expires_after(limit);
        boost::system::error_code ec;
        co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                      asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        http::request<http::empty_body> request{http::verb::get, target, 11};
        request.set(http::field::host, "127.0.0.1");
        co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        beast::flat_buffer buffer;
        http::response<http::string_body> response;
        co_await http::async_read(stream, buffer, response, asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) status = response.result_int();
      },
      asio::detached);
  io.run();
  return status;
}

// Every route the I/O thread serves from the consumer's state answers while the disk holds a sync.
void expect_answers_while_stuck(StuckDisk& disk, std::uint16_t port, const std::vector<std::string>& routes) {
  for (const auto& route : routes) {
    const auto status = get_within(port, route, 10s);
    EXPECT_NE(status, 0u) << route << " did not answer within 10 s while a disk sync was stuck";
    if (route != "/readyz") {
      EXPECT_EQ(status, 200u) << route;
    }
  }
  EXPECT_GT(disk.waiting(), 0) << "the sync must still be stuck while the routes answered";
}

TEST(StuckDisk, TheWarehouseAnswersWhileItsStateSyncIsStuck) {
  const auto topic = fresh_topic("stuck-warehouse");
  const auto state = fresh_dir("stuck-warehouse");
  const auto config = repository_config(topic, 1, state);
  produce(topic, 1, {order_json("7001", 10)});
  Running<repository::Service> warehouse(config);
  ASSERT_TRUE(warehouse.ok()) << warehouse.error();
  const auto shipped = [&] {
    return nlohmann::json::parse(call(http::verb::get, warehouse->port(), "/shipments").body)["shipped"];
  };
  ASSERT_TRUE(eventually([&] { return shipped() == 1; }));

  StuckDisk disk;
  produce(topic, 1, {order_json("7002", 20)});
  ASSERT_TRUE(disk.caught(30s)) << "the warehouse never synced its state";
  expect_answers_while_stuck(
      disk, warehouse->port(),
      {"/shipments", "/positions", "/progress/1/0", "/metrics", "/healthz", "/readyz"});
  disk.release();
  EXPECT_TRUE(eventually([&] { return shipped() == 2; }));
}

TEST(StuckDisk, StatisticsAnswersWhileItsStateSyncIsStuck) {
  const auto topic = fresh_topic("stuck-statistics");
  const auto state = fresh_dir("stuck-statistics");
  const auto config = statistics_config(topic, state);
  produce(topic, 0, {order_json("8001", 100)});
  Running<statistics::Service> statistics(config);
  ASSERT_TRUE(statistics.ok()) << statistics.error();
  const auto orders = [&] {
    return nlohmann::json::parse(call(http::verb::get, statistics->port(), "/stats").body)["total"]["orders"];
  };
  ASSERT_TRUE(eventually([&] { return orders() == 1; }));

  StuckDisk disk;
  produce(topic, 2, {order_json("8002", 200)});
  ASSERT_TRUE(disk.caught(30s)) << "statistics never synced its state";
  expect_answers_while_stuck(disk, statistics->port(),
                             {"/stats", "/positions", "/progress/2/0", "/metrics", "/healthz", "/readyz"});
  disk.release();
  EXPECT_TRUE(eventually([&] { return orders() == 2; }));
}

}  // namespace
}  // namespace kd::test
