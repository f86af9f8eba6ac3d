#include "statistics/shop_figures.hpp"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

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

struct FiguresCodec {
  static json encode(const ShopFigures& shop) {
    json partitions = json::object();
    for (const auto& [partition, figures] : shop.partitions_) {
      partitions[std::to_string(partition)] = {
          {"orders", figures.orders}, {"revenue", figures.revenue}, {"rejected", figures.rejected}};
    }
    return {{"version", 2}, {"figures", partitions}};
  }

  // Only what encode writes is read back. A number that is not a whole number from 0 to int64's largest
  // (a float, a sign, too many digits) would otherwise be converted by nlohmann::json: undefined behaviour
  // for a float out of range, a silent wrap for a large unsigned, and a negative count makes no sense.
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

  static Result<ShopFigures> decode(std::string_view text) {
    const json parsed = json::parse(text.begin(), text.end(), nullptr, false);
    const bool version_2 = parsed.is_object() && parsed.contains("version") &&
                           parsed["version"].is_number_integer() &&
                           parsed["version"].get<std::int64_t>() == 2;
    if (!version_2) {
      return make_error(Errc::storage, "figures are not a version 2 snapshot");
    }
    try {
      // items() of an array would make partitions of its indexes.
      if (!parsed.at("figures").is_object()) throw std::invalid_argument("figures must be an object");
      ShopFigures shop;
      for (const auto& [key, figures] : parsed.at("figures").items()) {
        shop.partitions_[partition(key)] = {whole_number(figures.at("orders"), "orders"),
                                            whole_number(figures.at("revenue"), "revenue"),
                                            whole_number(figures.at("rejected"), "rejected")};
      }
      // GET /stats adds the partitions up (total()): their sums must fit as well.
      constexpr auto max = std::numeric_limits<std::int64_t>::max();
      RegionFigures sum;
      for (const auto& [key, figures] : shop.partitions_) {
        if (figures.orders > max - sum.orders || figures.revenue > max - sum.revenue ||
            figures.rejected > max - sum.rejected) {
          throw std::invalid_argument("the figures of all partitions add up to more than 2^63-1");
        }
        sum = {sum.orders + figures.orders, sum.revenue + figures.revenue, sum.rejected + figures.rejected};
      }
      return shop;
    } catch (const std::exception& e) {
      return make_error(Errc::storage, std::string("figures are malformed: ") + e.what());
    }
  }
};

std::string encode(const ShopFigures& figures) { return FiguresCodec::encode(figures).dump(); }
Result<ShopFigures> decode_figures(std::string_view text) { return FiguresCodec::decode(text); }

std::string ShopFigures::snapshot() const { return encode(*this); }

Status ShopFigures::restore(std::string_view snapshot) {
  if (snapshot.empty()) {
    partitions_.clear();
    return Ok{};
  }
  auto decoded = decode_figures(snapshot);
  if (!decoded) return decoded.error();
  partitions_ = std::move(decoded->partitions_);
  return Ok{};
}

}  // namespace kd::statistics
