// One stream of events to many viewers, none of whom can slow the others or the service: each viewer has a
// bounded queue, publish() never waits, and a viewer whose queue is full (a slow or stuck reader) is
// dropped (its connection closed; a browser's EventSource reconnects and starts from a fresh snapshot).
// On the io thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "common/net.hpp"

namespace kd::gateway {

using Event = std::shared_ptr<const std::string>;  // written as is: "event: …\ndata: …\n\n"

// "event: <name>\ndata: <data>\n\n"; `data` must be one line (JSON as dump() writes it is).
Event make_event(std::string_view name, std::string_view data);

class Fanout {
 public:
  struct Viewer {
    explicit Viewer(asio::any_io_executor executor) : wake(std::move(executor)) {}
    std::deque<Event> queue;
    asio::steady_timer wake;        // cancelled when an event arrives
    bool dropped = false;           // too slow: its writer stops at once
    std::function<void()> on_drop;  // closes its connection
  };
  using ViewerPtr = std::shared_ptr<Viewer>;

  explicit Fanout(std::size_t max_queued) : max_queued_(max_queued) {}

  ViewerPtr join(asio::any_io_executor executor, Event first);
  void leave(const ViewerPtr& viewer);
  void publish(const Event& event);
  std::size_t viewers() const { return viewers_.size(); }
  const std::list<ViewerPtr>& all() const { return viewers_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  std::size_t max_queued_;
  std::list<ViewerPtr> viewers_;
  std::uint64_t dropped_ = 0;
};

}  // namespace kd::gateway
