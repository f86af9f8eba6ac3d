#include "tools/load/stats.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace kd::load {

void LatencyStats::sort() {
  if (!sorted_) std::sort(samples_.begin(), samples_.end());
  sorted_ = true;
}

std::int64_t LatencyStats::percentile(double q) {
  if (samples_.empty()) return 0;
  sort();
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(samples_.size()));
  const auto index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  return samples_[std::min(index, samples_.size() - 1)];
}

std::int64_t LatencyStats::max() {
  if (samples_.empty()) return 0;
  sort();
  return samples_.back();
}

void Summary::count(const Outcome& outcome, std::int64_t latency_us) {
  ++requests;
  if (outcome.status == 0) {
    ++transport_errors;
    return;
  }
  ++status[outcome.status];
  if (outcome.status >= 200 && outcome.status < 300) ++ok;
  latency.add(latency_us);
}

namespace {

// Milliseconds with microsecond resolution, as a JSON number.
double ms(std::int64_t micros) { return static_cast<double>(micros) / 1000.0; }
// Rounded to 10^-digits (dividing by the power, not multiplying by a fraction, keeps 36337.2 exact).
double round_to(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

}  // namespace

std::string Summary::to_json() {
  nlohmann::ordered_json statuses = nlohmann::ordered_json::object();
  for (const auto& [code, n] : status) statuses[std::to_string(code)] = n;
  nlohmann::ordered_json out;
  out["mode"] = open_loop ? "open" : "closed";
  out["connections"] = connections;
  out["rate"] = rate ? nlohmann::ordered_json(*rate) : nlohmann::ordered_json(nullptr);
  out["duration_s"] = round_to(duration_s, 3);
  out["requests"] = requests;
  out["ok"] = ok;
  out["status"] = statuses;
  out["transport_errors"] = transport_errors;
  out["rps"] = duration_s > 0 ? round_to(static_cast<double>(requests) / duration_s, 1) : 0.0;
  out["p50_ms"] = ms(latency.percentile(0.50));
  out["p90_ms"] = ms(latency.percentile(0.90));
  out["p99_ms"] = ms(latency.percentile(0.99));
  out["p999_ms"] = ms(latency.percentile(0.999));
  out["max_ms"] = ms(latency.max());
  return out.dump();
}

std::string record_line(std::uint64_t seq, std::optional<int> partition, const Outcome& outcome,
                        std::int64_t latency_us, std::optional<std::int64_t> start_us) {
  nlohmann::ordered_json line;
  line["seq"] = seq;
  line["partition"] = partition ? nlohmann::ordered_json(*partition) : nlohmann::ordered_json(nullptr);
  line["status"] = outcome.status;
  line["latency_us"] = latency_us;
  if (start_us) line["start_us"] = *start_us;
  if (outcome.status == 0) {
    line["error"] = outcome.body;
  } else {
    auto parsed = nlohmann::ordered_json::parse(outcome.body, nullptr, false);
    line["body"] = parsed.is_discarded() ? nlohmann::ordered_json(outcome.body) : std::move(parsed);
  }
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace kd::load
