// The shop's figures per region, and the checkpoint that keeps them exact across restarts: figures and
// the consumer positions they include are saved together, atomically, so a restart resumes reading at
// exactly the first record the saved figures do not count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "common/kafka/consumer.hpp"
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

class ShopFigures {
 public:
  void count(int partition, const Order& order);
  void reject(int partition);
  const std::map<int, RegionFigures>& by_partition() const { return partitions_; }
  RegionFigures total() const;
  // {"regions":[{"partition":0,"region":"陕北","orders":3,"revenue":1500,"rejected":0},…],"total":{…}};
  // every partition in [0, partitions) appears, with zeros if it has no orders yet.
  std::string to_json(const RegionNames& names, int partitions) const;
  friend bool operator==(const ShopFigures&, const ShopFigures&) = default;

 private:
  friend struct CheckpointCodec;
  std::map<int, RegionFigures> partitions_;
};

struct Checkpoint {
  kafka::Positions next;  // partition -> first offset not yet counted
  ShopFigures figures;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

std::string encode(const Checkpoint& checkpoint);
Result<Checkpoint> decode_checkpoint(std::string_view text);

Status save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);
// Nothing when no checkpoint was ever saved; an error when one exists but cannot be read.
Result<std::optional<Checkpoint>> load_checkpoint(const std::filesystem::path& path);

}  // namespace kd::statistics
