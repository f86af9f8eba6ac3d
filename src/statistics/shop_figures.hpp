// The shop's figures per region: what statistics does with each order. A plain class the consumer loop
// drives (it sees each order once, deduplicated); its snapshot is saved with the positions it includes,
// in one transaction, so a restart resumes at exactly the first record the saved figures do not count.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/consumer/handler.hpp"
#include "common/order.hpp"
#include "common/regions.hpp"
#include "common/result.hpp"

namespace kd::statistics {

struct RegionFigures {
  std::int64_t orders = 0;
  std::int64_t revenue = 0;   // sum of money
  std::int64_t rejected = 0;  // records that held no valid order
  friend bool operator==(const RegionFigures&, const RegionFigures&) = default;
};

class ShopFigures final : public consumer::Handler {
 public:
  void count(int partition, const Order& order);
  void reject(int partition);

  void on_order(int partition, std::int64_t, const Order& order) override { count(partition, order); }
  void on_rejected(int partition, std::int64_t) override { reject(partition); }
  // {"version":2,"figures":{"0":{"orders":3,"revenue":1500,"rejected":0},…}}
  std::string snapshot() const override;
  Status restore(std::string_view snapshot) override;

  const std::map<int, RegionFigures>& by_partition() const { return partitions_; }
  RegionFigures total() const;
  // {"regions":[{"partition":0,"region":"陕北","orders":3,"revenue":1500,"rejected":0},…],"total":{…}};
  // every partition in [0, partitions) appears, with zeros if it has no orders yet.
  std::string to_json(const RegionNames& names, int partitions) const;
  friend bool operator==(const ShopFigures& a, const ShopFigures& b) {
    return a.partitions_ == b.partitions_;
  }

 private:
  friend struct FiguresCodec;
  std::map<int, RegionFigures> partitions_;
};

std::string encode(const ShopFigures& figures);
// Errors are storage errors: the text is what the state held.
Result<ShopFigures> decode_figures(std::string_view text);

}  // namespace kd::statistics
