// The HTTP server's connection accounting, apart from sockets: how many connections are open, which of
// them wait idle for a request and since when, and what to do with one more at the limit; and how long
// the accept loop pauses when the process is out of file descriptors.
//
// At the limit, the connection idle the longest makes room for the new one (as nginx reuses keep-alive
// connections when its worker_connections run out): otherwise a few thousand clients that connect and
// send nothing would hold every place for the idle timeout, and every real request would be refused. One
// idle for less than `evictable_after` is spared: it has had no fair chance to send its request yet. With
// no such connection (all busy, or a burst of new ones), the new connection is refused (a 503).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>

#include "common/net.hpp"

namespace kd {

class ConnectionLimit {
 public:
  using Clock = std::chrono::steady_clock;
  using Id = std::uint64_t;
  // How long a connection must have waited idle before it may be closed to make room: a client sends its
  // request right after connecting, well within a second even on a slow link.
  static constexpr std::chrono::milliseconds kEvictableAfter{1000};

  explicit ConnectionLimit(std::size_t max, std::chrono::milliseconds evictable_after = kEvictableAfter)
      : max_(max), evictable_after_(evictable_after) {}

  enum class Verdict { admit, evict_then_admit, refuse };
  struct Decision {
    Verdict verdict = Verdict::admit;
    Id evict = 0;  // evict_then_admit: the connection to close first
  };
  // What to do with a new connection now; changes nothing (see evicted() and opened()).
  Decision on_arrival(Clock::time_point now) const;
  // The longest-idle connection, if it has been idle long enough to be closed (to make room, or to free a
  // file descriptor when the process has none left).
  std::optional<Id> evictable(Clock::time_point now) const;

  // Counts a new connection, idle (waiting for its first request) from `now`.
  Id opened(Clock::time_point now);
  // A request began on it: not to be closed to make room until it is idle again.
  void busy(Id id);
  // It waits for its next request, from `now`.
  void idle(Id id, Clock::time_point now);
  // Closed to make room (its socket closes now; its own close() later changes nothing), or closed.
  bool evicted(Id id) { return closed(id); }
  // False if it was not counted (already evicted).
  bool closed(Id id);

  std::size_t open() const { return connections_.size(); }
  std::size_t idle_count() const { return idle_order_.size(); }
  std::size_t max() const { return max_; }

 private:
  struct Entry {
    bool idle = true;
    Clock::time_point since;
    std::list<Id>::iterator place;  // in idle_order_, while idle
  };
  std::size_t max_;
  std::chrono::milliseconds evictable_after_;
  Id next_id_ = 1;
  std::unordered_map<Id, Entry> connections_;
  std::list<Id> idle_order_;  // idle connections, longest idle first (times only grow)
};

// How long the accept loop waits after a failed accept. A failure that is the connection's own (reset
// before it was accepted) is retried at once; any other, above all running out of a resource (EMFILE: the
// process's file descriptors; ENFILE: the system's; ENOBUFS, ENOMEM), is not mended by trying again at
// once, and each try fails at once while the connection waits in the backlog: the loop would spin on the
// I/O thread and log each turn.
// So it pauses, 10 ms at first and twice as long each time after, up to a second, until an accept succeeds
// (the server also ends a pause early when one of its connections closes and frees a descriptor).
class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{10};
  static constexpr std::chrono::milliseconds kMost{1000};

  // Out of file descriptors (the process's or the system's): closing a connection frees one.
  static bool exhausted(const boost::system::error_code& ec);
  // A failure of that one connection, not of the listener or the process.
  static bool connection_failed(const boost::system::error_code& ec);
  // The pause before the next accept, or none to try again at once.
  std::optional<std::chrono::milliseconds> failed(const boost::system::error_code& ec);
  void succeeded() { next_ = kFirst; }

 private:
  std::chrono::milliseconds next_ = kFirst;
};

}  // namespace kd
