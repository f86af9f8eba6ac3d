// When a write leaves for Kafka if the producer lingers only when it is busy (PRODUCER_LINGER_WHEN=busy).
//
// librdkafka's linger.ms makes every batch wait, so a quiet shop's orders each wait the whole linger for
// company that is not coming (1 ms of a 2.5-3 ms answer). The pacer lets a write begun while none of the
// producer's writes awaits its acknowledgement leave at once, with whatever else is begun in the same turn
// of the event loop; a write begun while others are in flight waits `linger` for company, as with
// librdkafka's own linger.ms, so under load batches form as they always did. librdkafka itself then runs
// at linger.ms 0, which under load costs two to three times the CPU per write: the price, measured by
// turns, is in bench/README.md, item 10. (A first rule, by the time since the last send, sent the first
// write after each gap alone and the rest a linger later; it lost as much at saturation.)
// Logic only: the producer counts what is in flight, holds the waiting writes and owns the timer.
#pragma once

#include <chrono>
#include <optional>

namespace kd::kafka {

class SendPacer {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool starts_batch;      // true: no batch was waiting, the caller must see that this one leaves at `due`
    Clock::time_point due;  // when the batch that holds the write leaves; `now` when nothing was in flight
  };

  explicit SendPacer(Clock::duration linger) : linger_(linger) {}

  // A write is begun at `now`; `writes_in_flight`: some earlier write awaits its acknowledgement.
  Decision arrive(Clock::time_point now, bool writes_in_flight) {
    if (batch_due_) return {false, *batch_due_};
    batch_due_ = writes_in_flight ? now + linger_ : now;
    return {true, *batch_due_};
  }

  // Whether the waiting batch should leave at `now` (false if none waits, or it is not yet due).
  bool batch_due(Clock::time_point now) const { return batch_due_ && now >= *batch_due_; }
  bool batch_waiting() const { return batch_due_.has_value(); }

  // The waiting batch was handed to librdkafka (when due, or early by a flush).
  void batch_sent() { batch_due_.reset(); }

 private:
  Clock::duration linger_;
  std::optional<Clock::time_point> batch_due_;
};

}  // namespace kd::kafka
