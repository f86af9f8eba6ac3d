#include "statistics/shop_figures.hpp"

#include <nlohmann/json.hpp>

#include "common/durable_file.hpp"

namespace kd::statistics {

using nlohmann::json;

void ShopFigures::count(int partition, const Order& order) {
  auto& figures = partitions_[partition];
  ++figures.orders;
  figures.revenue += order.money;
}

void ShopFigures::reject(int partition) { ++partitions_[partition].rejected; }

RegionFigures ShopFigures::total() const {
  RegionFigures sum;
  for (const auto& [partition, figures] : partitions_) {
    sum.orders += figures.orders;
    sum.revenue += figures.revenue;
    sum.rejected += figures.rejected;
  }
  return sum;
}

std::string ShopFigures::to_json(const RegionNames& names, int partitions) const {
  json regions = json::array();
  auto row = [&](int partition, const RegionFigures& figures) {
    regions.push_back({{"partition", partition},
                       {"region", names.name(partition)},
                       {"orders", figures.orders},
                       {"revenue", figures.revenue},
                       {"rejected", figures.rejected}});
  };
  for (int partition = 0; partition < partitions; ++partition) {
    const auto it = partitions_.find(partition);
    row(partition, it == partitions_.end() ? RegionFigures{} : it->second);
  }
  for (const auto& [partition, figures] : partitions_) {
    if (partition >= partitions) row(partition, figures);  // the topic grew: never hide counted orders
  }
  const auto sum = total();
  return json{{"regions", regions},
              {"total", {{"orders", sum.orders}, {"revenue", sum.revenue}, {"rejected", sum.rejected}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

struct CheckpointCodec {
  static json encode(const Checkpoint& checkpoint) {
    json partitions = json::object();
    for (const auto& [partition, figures] : checkpoint.figures.partitions_) {
      partitions[std::to_string(partition)] = {
          {"orders", figures.orders}, {"revenue", figures.revenue}, {"rejected", figures.rejected}};
    }
    json next = json::object();
    for (const auto& [partition, offset] : checkpoint.next) next[std::to_string(partition)] = offset;
    return {{"version", 1}, {"next", next}, {"figures", partitions}};
  }

  static Result<Checkpoint> decode(std::string_view text) {
    const json parsed = json::parse(text.begin(), text.end(), nullptr, false);
    const bool version_1 = parsed.is_object() && parsed.contains("version") && parsed["version"].is_number_integer() &&
                           parsed["version"].get<int>() == 1;
    if (!version_1) {
      return make_error(Errc::internal, "checkpoint is not a version 1 checkpoint");
    }
    try {
      Checkpoint checkpoint;
      for (const auto& [partition, offset] : parsed.at("next").items()) {
        checkpoint.next[std::stoi(partition)] = offset.get<std::int64_t>();
      }
      for (const auto& [partition, figures] : parsed.at("figures").items()) {
        checkpoint.figures.partitions_[std::stoi(partition)] = {figures.at("orders").get<std::int64_t>(),
                                                                figures.at("revenue").get<std::int64_t>(),
                                                                figures.at("rejected").get<std::int64_t>()};
      }
      return checkpoint;
    } catch (const std::exception& e) {
      return make_error(Errc::internal, std::string("checkpoint is malformed: ") + e.what());
    }
  }
};

std::string encode(const Checkpoint& checkpoint) { return CheckpointCodec::encode(checkpoint).dump(); }
Result<Checkpoint> decode_checkpoint(std::string_view text) { return CheckpointCodec::decode(text); }

Status save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint) {
  return write_file_atomically(path, encode(checkpoint));
}

Result<std::optional<Checkpoint>> load_checkpoint(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == Errc::not_found) return std::optional<Checkpoint>();
    return text.error();
  }
  auto checkpoint = decode_checkpoint(*text);
  if (!checkpoint) return make_error(Errc::internal, path.string() + ": " + checkpoint.error().message);
  return std::optional<Checkpoint>(std::move(*checkpoint));
}

}  // namespace kd::statistics
