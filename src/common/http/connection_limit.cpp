#include "common/http/connection_limit.hpp"

#include <algorithm>
#include <cerrno>

namespace kd {

ConnectionLimit::Decision ConnectionLimit::on_arrival(Clock::time_point now) const {
  if (connections_.size() < max_) return {Verdict::admit};
  if (const auto victim = evictable(now)) return {Verdict::evict_then_admit, *victim};
  return {Verdict::refuse};
}

std::optional<ConnectionLimit::Id> ConnectionLimit::evictable(Clock::time_point now) const {
  if (idle_order_.empty()) return std::nullopt;
  const Id oldest = idle_order_.front();
  if (now - connections_.at(oldest).since < evictable_after_) return std::nullopt;
  return oldest;
}

ConnectionLimit::Id ConnectionLimit::opened(Clock::time_point now) {
  const Id id = next_id_++;
  connections_[id] = Entry{true, now, idle_order_.insert(idle_order_.end(), id)};
  return id;
}

void ConnectionLimit::busy(Id id) {
  const auto it = connections_.find(id);
  if (it == connections_.end() || !it->second.idle) return;
  idle_order_.erase(it->second.place);
  it->second.idle = false;
}

void ConnectionLimit::idle(Id id, Clock::time_point now) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  if (it->second.idle) idle_order_.erase(it->second.place);
  it->second = Entry{true, now, idle_order_.insert(idle_order_.end(), id)};
}

bool ConnectionLimit::closed(Id id) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return false;
  if (it->second.idle) idle_order_.erase(it->second.place);
  connections_.erase(it);
  return true;
}

bool AcceptBackoff::exhausted(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int code = ec.value();
  return code == EMFILE || code == ENFILE;
}

bool AcceptBackoff::connection_failed(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int code = ec.value();
  // accept(2): the connection was reset or refused by a firewall or protocol rule before it was taken.
  return code == ECONNABORTED || code == ECONNRESET || code == EPROTO || code == EPERM || code == ETIMEDOUT ||
         code == EAGAIN || code == EINTR;
}

std::optional<std::chrono::milliseconds> AcceptBackoff::failed(const boost::system::error_code& ec) {
  if (connection_failed(ec)) return std::nullopt;
  const auto pause = next_;
  next_ = std::min(next_ * 2, kMost);
  return pause;
}

}  // namespace kd
