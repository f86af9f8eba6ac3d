#include "gateway/fanout.hpp"

#include <algorithm>

namespace kd::gateway {

Event make_event(std::string_view name, std::string_view data) {
  std::string text;
  text.reserve(name.size() + data.size() + 16);
  text.append("event: ").append(name).append("\ndata: ").append(data).append("\n\n");
  return std::make_shared<const std::string>(std::move(text));
}

Fanout::ViewerPtr Fanout::join(asio::any_io_executor executor, Event first) {
  auto viewer = std::make_shared<Viewer>(std::move(executor));
  viewer->queue.push_back(std::move(first));
  viewers_.push_back(viewer);
  return viewer;
}

void Fanout::leave(const ViewerPtr& viewer) { viewers_.remove(viewer); }

void Fanout::publish(const Event& event) {
  for (auto it = viewers_.begin(); it != viewers_.end();) {
    Viewer& viewer = **it;
    if (viewer.queue.size() >= max_queued_) {
      viewer.dropped = true;
      viewer.queue.clear();
      ++dropped_;
      if (viewer.on_drop) viewer.on_drop();
      viewer.wake.cancel();
      it = viewers_.erase(it);
      continue;
    }
    viewer.queue.push_back(event);
    viewer.wake.cancel();
    ++it;
  }
}

}  // namespace kd::gateway
