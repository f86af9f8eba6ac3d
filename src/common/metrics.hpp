// Prometheus metrics in the text exposition format, served at GET /metrics. A process-wide registry, like
// the official clients' default one: counters and histograms are lock-free to update; looking one up by
// labels takes a lock, so hot paths keep the reference they get.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kd::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Latency histogram with fixed buckets in seconds (0.5 ms .. 10 s), enough for HTTP and Kafka round trips.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
  void observe(double seconds);
  // Cumulative counts per bound, then +Inf, as Prometheus wants them.
  std::array<std::uint64_t, kBounds.size() + 1> cumulative() const;
  double sum() const { return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6; }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class Registry;

// Keeps a gauge registered while it lives: a gauge reads its owner, so it must go when the owner goes.
class [[nodiscard]] GaugeRegistration {
 public:
  GaugeRegistration() = default;
  GaugeRegistration(Registry* registry, std::uint64_t id) : registry_(registry), id_(id) {}
  GaugeRegistration(GaugeRegistration&& other) noexcept
      : registry_(std::exchange(other.registry_, nullptr)), id_(other.id_) {}
  GaugeRegistration& operator=(GaugeRegistration&& other) noexcept;
  ~GaugeRegistration();

 private:
  Registry* registry_ = nullptr;
  std::uint64_t id_ = 0;
};

using GaugeReader = std::function<std::vector<std::pair<Labels, double>>()>;

class Registry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {});
  // A value read when scraped (queue lengths, consumer lag). The callback runs on the scraping thread.
  GaugeRegistration gauge(const std::string& name, const std::string& help, GaugeReader read);
  void remove_gauge(std::uint64_t id);

  std::string render() const;

 private:
  enum class Kind { counter, histogram, gauge };
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // by rendered label set
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::map<std::uint64_t, GaugeReader> gauges;  // by registration id
  };
  Family& family(const std::string& name, Kind kind, const std::string& help);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
  std::uint64_t next_gauge_id_ = 1;
};

// The process's registry.
Registry& registry();

// {a="x",b="y"} with Prometheus escaping; empty for no labels.
std::string render_labels(const Labels& labels);

}  // namespace kd::metrics
