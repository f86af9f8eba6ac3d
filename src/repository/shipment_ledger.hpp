// The warehouse's record of what it has shipped: one line per record of its partition, made durable
// before the consumer commits. It is the truth a restart resumes from, so an order is shipped once even
// when Kafka redelivers (a crash between shipping and committing) or holds the same order twice.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "common/durable_file.hpp"
#include "common/ids.hpp"
#include "common/result.hpp"

namespace kd::repository {

class ShipmentLedger {
 public:
  // Lines are "<offset> <order_id>" for a shipped order and "<offset> -" for a record that held no valid
  // order. A torn last line (a crash mid-write) is ignored. `remember` bounds the ids kept for duplicate
  // detection: duplicates of an order sit close together in the log, so the newest ids suffice.
  static Result<std::unique_ptr<ShipmentLedger>> open(const std::filesystem::path& path, std::size_t remember = 200'000);

  // Where to resume: the offset after the last record recorded, if any.
  std::optional<std::int64_t> next_offset() const { return next_offset_; }
  bool contains(const OrderId& id) const { return ids_.contains(id.value); }
  // Orders shipped over the ledger's whole life.
  std::int64_t shipped() const { return shipped_; }

  void record_shipped(std::int64_t offset, const OrderId& id);
  void record_skipped(std::int64_t offset);
  // Makes every record so far durable.
  Status sync() { return file_.sync(); }

 private:
  ShipmentLedger(AppendFile file, std::size_t remember) : file_(std::move(file)), remember_(remember) {}
  void remember_id(const std::string& id);

  AppendFile file_;
  std::size_t remember_;
  std::optional<std::int64_t> next_offset_;
  std::int64_t shipped_ = 0;
  std::unordered_set<std::string> ids_;
  std::deque<std::string> order_;  // ids_ in arrival order, to forget the oldest
};

}  // namespace kd::repository
