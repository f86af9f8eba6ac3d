#include "common/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace kd::metrics {
namespace {

std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

// Adds one more label to an already rendered label set.
std::string with_label(const std::string& rendered, const std::string& name, const std::string& value) {
  const std::string extra = name + "=\"" + value + "\"";
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first + "=\"" + escape(labels[i].second) + "\"";
  }
  return out + "}";
}

void Histogram::observe(double seconds) {
  std::size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e6), std::memory_order_relaxed);
}

std::array<std::uint64_t, Histogram::kBounds.size() + 1> Histogram::cumulative() const {
  std::array<std::uint64_t, kBounds.size() + 1> out{};
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

Registry::Family& Registry::family(const std::string& name, Kind kind, const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.kind = kind;
    it->second.help = help;
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, Kind::counter, help).counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, Kind::histogram, help).histograms[render_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

GaugeRegistration Registry::gauge(const std::string& name, const std::string& help, GaugeReader read) {
  std::lock_guard lock(mutex_);
  const auto id = next_gauge_id_++;
  family(name, Kind::gauge, help).gauges.emplace(id, std::move(read));
  return GaugeRegistration(this, id);
}

void Registry::remove_gauge(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  for (auto& [name, family] : families_) family.gauges.erase(id);
}

GaugeRegistration& GaugeRegistration::operator=(GaugeRegistration&& other) noexcept {
  if (this != &other) {
    if (registry_) registry_->remove_gauge(id_);
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

GaugeRegistration::~GaugeRegistration() {
  if (registry_) registry_->remove_gauge(id_);
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    const char* type = family.kind == Kind::counter     ? "counter"
                       : family.kind == Kind::histogram ? "histogram"
                                                        : "gauge";
    out += "# HELP " + name + " " + family.help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, counter] : family.counters)
      out += name + labels + " " + std::to_string(counter->value()) + "\n";
    for (const auto& [labels, histogram] : family.histograms) {
      const auto counts = histogram->cumulative();
      for (std::size_t i = 0; i < counts.size(); ++i) {
        const double bound = i < Histogram::kBounds.size() ? Histogram::kBounds[i] : INFINITY;
        out += name + "_bucket" + with_label(labels, "le", number(bound)) + " " + std::to_string(counts[i]) +
               "\n";
      }
      out += name + "_sum" + labels + " " + number(histogram->sum()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(counts.back()) + "\n";
    }
    for (const auto& [id, read] : family.gauges) {
      for (const auto& [labels, value] : read())
        out += name + render_labels(labels) + " " + number(value) + "\n";
    }
  }
  return out;
}

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace kd::metrics
