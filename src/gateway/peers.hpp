// Where the gateway finds the other services: order-N takes the orders; repository-N and statistics are
// asked how far they have got (the order tracking, the console), and every instance how it is (the
// console's map). Each is a URL setting, with {partition} for the instances of a region.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "common/http/client.hpp"
#include "common/result.hpp"

namespace kd::gateway {

inline constexpr const char* kDefaultOrderUrl =
    "http://order-{partition}.order.kafka-demo.svc.cluster.local/submit-order";
inline constexpr const char* kDefaultRepositoryUrl =
    "http://repository-{partition}.repository.kafka-demo.svc.cluster.local:8080";
inline constexpr const char* kDefaultStatisticsUrl = "http://statistics.kafka-demo.svc.cluster.local";

struct PeerSettings {
  std::string order = kDefaultOrderUrl;
  std::string repository = kDefaultRepositoryUrl;
  std::string statistics = kDefaultStatisticsUrl;
};

void bind_peer_options(CLI::App& app, PeerSettings& peers);

struct Peers {
  std::vector<Url> order;       // by partition; the target is where orders are posted
  std::vector<Url> repository;  // by partition; the service's root (targets are added per call)
  Url statistics;

  // Errors: config, naming the setting.
  static Result<Peers> resolve(const PeerSettings& settings, int partitions);
  // Adds the instances of partitions below `partitions` not yet here (regions added while running); returns
  // how many partitions have them: fewer only where a template does not fit the number (the local
  // "810{partition}" beyond 9).
  int cover(int partitions);

 private:
  PeerSettings settings_;
};

// A URL template for a partition: every "{partition}" is replaced.
std::string partition_url(std::string_view url_template, int partition);

}  // namespace kd::gateway
