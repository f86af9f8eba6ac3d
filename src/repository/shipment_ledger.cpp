#include "repository/shipment_ledger.hpp"

#include <charconv>
#include <limits>
#include <string_view>
#include <unistd.h>

namespace kd::repository {

Result<std::unique_ptr<ShipmentLedger>> ShipmentLedger::open(const std::filesystem::path& path, std::size_t remember) {
  std::string content;
  if (auto existing = read_file(path)) {
    content = std::move(*existing);
  } else if (existing.error().code != Errc::not_found) {
    return existing.error();
  }
  // Drop a torn last line so that new lines start on a line of their own.
  const auto complete = content.rfind('\n');
  const std::size_t keep = complete == std::string::npos ? 0 : complete + 1;
  if (keep != content.size()) {
    std::error_code ec;
    std::filesystem::resize_file(path, keep, ec);
    if (ec) return make_error(Errc::internal, "cannot repair " + path.string() + ": " + ec.message());
    content.resize(keep);
  }
  auto file = AppendFile::open(path);
  if (!file) return file.error();
  std::unique_ptr<ShipmentLedger> ledger(new ShipmentLedger(std::move(*file), remember));

  std::string_view rest = content;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    const auto space = line.find(' ');
    std::int64_t offset = 0;
    const auto [ptr, ec] = std::from_chars(line.data(), line.data() + std::min(space, line.size()), offset);
    // The largest int64 has no offset after it to resume at.
    if (space == std::string_view::npos || ec != std::errc{} || ptr != line.data() + space || offset < 0 ||
        offset == std::numeric_limits<std::int64_t>::max()) {
      return make_error(Errc::internal, "ledger " + path.string() + " has a malformed line: " + std::string(line));
    }
    ledger->next_offset_ = std::max(ledger->next_offset_.value_or(0), offset + 1);
    const std::string_view id = line.substr(space + 1);
    if (id != "-") {
      ++ledger->shipped_;
      ledger->remember_id(std::string(id));
    }
  }
  return ledger;
}

void ShipmentLedger::remember_id(const std::string& id) {
  if (!ids_.insert(id).second) return;
  order_.push_back(id);
  if (order_.size() > remember_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
}

void ShipmentLedger::record_shipped(std::int64_t offset, const OrderId& id) {
  file_.append(std::to_string(offset) + ' ' + id.value + '\n');
  next_offset_ = offset + 1;
  ++shipped_;
  remember_id(id.value);
}

void ShipmentLedger::record_skipped(std::int64_t offset) {
  file_.append(std::to_string(offset) + " -\n");
  next_offset_ = offset + 1;
}

}  // namespace kd::repository
