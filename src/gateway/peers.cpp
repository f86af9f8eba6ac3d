#include "gateway/peers.hpp"

#include <algorithm>

namespace kd::gateway {

void bind_peer_options(CLI::App& app, PeerSettings& peers) {
  app.add_option("--order-url", peers.order,
                 "URL of the order instance; {partition} is replaced by its number")
      ->envname("ORDER_URL_TEMPLATE")
      ->capture_default_str();
  app.add_option(
         "--repository-url", peers.repository,
         "URL of the warehouse of a partition ({partition} is replaced), asked how far it has shipped")
      ->envname("REPOSITORY_URL_TEMPLATE")
      ->capture_default_str();
  app.add_option("--statistics-url", peers.statistics, "URL of statistics, asked how far it has counted")
      ->envname("STATISTICS_URL")
      ->capture_default_str();
}

Result<Peers> Peers::resolve(const PeerSettings& settings, int partitions) {
  Peers peers;
  peers.settings_ = settings;
  for (int partition = 0; partition < partitions; ++partition) {
    auto order = Url::parse(partition_url(settings.order, partition));
    if (!order) return make_error(Errc::config, "--order-url: " + order.error().message);
    auto repository = Url::parse(partition_url(settings.repository, partition));
    if (!repository) return make_error(Errc::config, "--repository-url: " + repository.error().message);
    peers.order.push_back(std::move(*order));
    peers.repository.push_back(std::move(*repository));
  }
  auto statistics = Url::parse(settings.statistics);
  if (!statistics) return make_error(Errc::config, "--statistics-url: " + statistics.error().message);
  peers.statistics = std::move(*statistics);
  return peers;
}

int Peers::cover(int partitions) {
  while (static_cast<int>(order.size()) < partitions) {
    const int partition = static_cast<int>(order.size());
    auto order_url = Url::parse(partition_url(settings_.order, partition));
    auto repository_url = Url::parse(partition_url(settings_.repository, partition));
    if (!order_url || !repository_url) break;
    order.push_back(std::move(*order_url));
    repository.push_back(std::move(*repository_url));
  }
  return std::min(partitions, static_cast<int>(order.size()));
}

std::string partition_url(std::string_view url_template, int partition) {
  constexpr std::string_view placeholder = "{partition}";
  std::string url(url_template);
  const std::string number = std::to_string(partition);
  for (auto at = url.find(placeholder); at != std::string::npos;
       at = url.find(placeholder, at + number.size())) {
    url.replace(at, placeholder.size(), number);
  }
  return url;
}

}  // namespace kd::gateway
