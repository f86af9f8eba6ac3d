// What kafka-demo-load counts and how it reports it. Pure: no I/O, so the unit tests can check the
// arithmetic (percentiles, rates, the open-loop schedule) and the JSON shapes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kd::load {

// Latencies kept as every sample (microseconds), sorted once at the end: exact percentiles, no
// histogram bucketing error. A million samples cost 8 MB, far more than a benchmark run records.
// Percentiles are nearest-rank: p(q) is the smallest sample with at least q of all samples at or below it.
class LatencyStats {
 public:
  void add(std::int64_t micros) {
    samples_.push_back(micros);
    sorted_ = false;
  }
  std::size_t count() const { return samples_.size(); }
  // 0 when there are no samples; q in [0, 1].
  std::int64_t percentile(double q);
  std::int64_t max();

 private:
  void sort();
  std::vector<std::int64_t> samples_;
  bool sorted_ = true;
};

// Request i of an open loop at `rate` per second starts this long after t0 (rounded to the nanosecond,
// computed from i rather than accumulated, so the schedule never drifts).
inline std::chrono::nanoseconds intended_offset(std::uint64_t i, double rate) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<long double>(i) * 1e9L / rate));
}

// The body of request `seq` when partitions rotate.
inline std::string partition_body(std::uint64_t seq, int partitions) {
  return "partition=" + std::to_string(seq % static_cast<std::uint64_t>(partitions));
}

struct Outcome {
  unsigned status = 0;  // 0: transport error
  std::string body;     // the answer's body, or the transport error's text
};

struct Summary {
  bool open_loop = false;
  int connections = 0;         // closed: the fixed number; open: the most open at once
  std::optional<double> rate;  // open loop only
  double duration_s = 0;       // measured window
  std::uint64_t requests = 0;  // counted requests (answered or not)
  std::uint64_t ok = 0;        // 2xx
  std::map<unsigned, std::uint64_t> status;
  std::uint64_t transport_errors = 0;
  LatencyStats latency;  // requests with an HTTP answer, any status

  void count(const Outcome& outcome, std::int64_t latency_us);
  // The one-line JSON object printed at the end (keys in a fixed order).
  std::string to_json();
};

// One line of --record: {"seq":N,"partition":P,"status":S,"latency_us":L,"body":…} with the body parsed
// as JSON when it is JSON, else a string; a transport error has status 0 and "error" instead of "body".
// partition is null when bodies do not rotate; start_us is added when given.
std::string record_line(std::uint64_t seq, std::optional<int> partition, const Outcome& outcome,
                        std::int64_t latency_us, std::optional<std::int64_t> start_us = std::nullopt);

}  // namespace kd::load
