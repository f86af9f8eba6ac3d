#include "statistics/shop_figures.hpp"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

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

  // Only what encode writes is read back. A number that is not a whole number from 0 to int64's largest
  // (a float, a sign, too many digits) would otherwise be converted by nlohmann::json: undefined behaviour
  // for a float out of range, a silent wrap for a large unsigned, and a negative next offset would be a
  // librdkafka logical offset (-1 is "the end") that skips records unread.
  static std::int64_t whole_number(const json& value, const std::string& what) {
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (value.is_number_unsigned() && value.get<std::uint64_t>() <= max) return value.get<std::int64_t>();
    if (value.is_number_integer() && !value.is_number_unsigned() && value.get<std::int64_t>() >= 0) {
      return value.get<std::int64_t>();
    }
    const auto shown = value.dump(-1, ' ', false, json::error_handler_t::replace);
    throw std::invalid_argument(what + " is not a whole number from 0 to 2^63-1: " + shown.substr(0, 32));
  }

  // A partition key as std::to_string writes it: no sign, space or leading zero ("01" and "1" would
  // otherwise both be partition 1, one silently overwriting the other).
  static int partition(const std::string& key) {
    int value = -1;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), value);
    if (ec != std::errc{} || end != key.data() + key.size() || value < 0 || std::to_string(value) != key) {
      throw std::invalid_argument("partition '" + key.substr(0, 32) + "' is not a partition number");
    }
    return value;
  }

  static Result<Checkpoint> decode(std::string_view text) {
    const json parsed = json::parse(text.begin(), text.end(), nullptr, false);
    const bool version_1 = parsed.is_object() && parsed.contains("version") && parsed["version"].is_number_integer() &&
                           parsed["version"].get<std::int64_t>() == 1;
    if (!version_1) {
      return make_error(Errc::internal, "checkpoint is not a version 1 checkpoint");
    }
    try {
      // items() of an array would make partitions of its indexes.
      if (!parsed.at("next").is_object() || !parsed.at("figures").is_object()) {
        throw std::invalid_argument("next and figures must be objects");
      }
      Checkpoint checkpoint;
      for (const auto& [key, offset] : parsed.at("next").items()) {
        checkpoint.next[partition(key)] = whole_number(offset, "next offset");
      }
      for (const auto& [key, figures] : parsed.at("figures").items()) {
        checkpoint.figures.partitions_[partition(key)] = {whole_number(figures.at("orders"), "orders"),
                                                          whole_number(figures.at("revenue"), "revenue"),
                                                          whole_number(figures.at("rejected"), "rejected")};
      }
      // GET /stats adds the partitions up (total()): their sums must fit as well.
      constexpr auto max = std::numeric_limits<std::int64_t>::max();
      RegionFigures sum;
      for (const auto& [key, figures] : checkpoint.figures.partitions_) {
        if (figures.orders > max - sum.orders || figures.revenue > max - sum.revenue ||
            figures.rejected > max - sum.rejected) {
          throw std::invalid_argument("the figures of all partitions add up to more than 2^63-1");
        }
        sum = {sum.orders + figures.orders, sum.revenue + figures.revenue, sum.rejected + figures.rejected};
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
