// The consumers' reading of a record (repository and statistics): parse_order, and the line they log
// for every record, consumed_record_json.
// Input: the record's value, as is. The log line is made with no key and with the value as its key too,
// at the largest offset and partition, so both keys' shapes and the number limits are covered.
// Properties: an accepted order is within the bounds the order service enforces and survives to_json;
// the log line is always one valid JSON object with exactly the seed's four fields, holding the value
// unchanged when it is UTF-8 (so a reader of the log finds the very record), and bytes that are not
// UTF-8 replaced, never passed through. Both hand-written fast paths give what nlohmann gives: the
// canonical-shape reader in parse_order (checked against the same value behind a space, which only the
// DOM path reads) and the string escaper in consumed_record_json (checked against nlohmann's dump).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/order.hpp"
#include "fuzz_check.hpp"

namespace {

using nlohmann::json;

bool is_utf8(std::string_view text) {
  try {
    (void)json(std::string(text)).dump();  // the strict serializer throws on bytes that are not UTF-8
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

void check_log_line(const std::optional<std::string_view>& key, std::string_view value) {
  constexpr std::int64_t offset = std::numeric_limits<std::int64_t>::max();
  constexpr int partition = std::numeric_limits<int>::max();
  const auto line = json::parse(kd::consumed_record_json(key, offset, partition, value), nullptr, false);
  FUZZ_CHECK(!line.is_discarded() && line.is_object() && line.size() == 4);
  for (const char* field : {"key", "offset", "partition", "value"}) FUZZ_CHECK(line.contains(field));
  FUZZ_CHECK(line["offset"].is_number_integer() && line["offset"].get<std::int64_t>() == offset);
  FUZZ_CHECK(line["partition"].is_number_integer() && line["partition"].get<int>() == partition);
  FUZZ_CHECK(key ? line["key"].is_string() : line["key"].is_null());
  FUZZ_CHECK(line["value"].is_string());
  const auto& logged = line["value"].get_ref<const std::string&>();
  if (is_utf8(value)) {
    FUZZ_CHECK(logged == value);
    if (key) FUZZ_CHECK(line["key"].get_ref<const std::string&>() == *key);
  } else {
    FUZZ_CHECK(logged.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD marks what was replaced
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kd;
  using nlohmann::json;
  const auto value = fuzz::as_text(data, size);
  const auto order = parse_order(value);
  if (order) {
    FUZZ_CHECK(order->time >= 1);
    FUZZ_CHECK(order->money >= kMinMoney && order->money <= kMaxMoney);
    FUZZ_CHECK(fuzz::is_decimal_id(order->user_id.value) && fuzz::is_decimal_id(order->order_id.value));
    const auto again = parse_order(to_json(*order));
    FUZZ_CHECK(again.ok() && *again == *order);
  } else {
    FUZZ_CHECK(order.error().code == Errc::bad_request && !order.error().message.empty());
  }
  // A leading space is valid JSON whitespace that the canonical reader refuses: the DOM path's answer.
  const auto strict = parse_order(" " + std::string(value));
  FUZZ_CHECK(strict.ok() == order.ok());
  if (order) FUZZ_CHECK(*strict == *order);
  const json expected_line = {
      {"key", nullptr}, {"offset", 7}, {"partition", 1}, {"value", std::string(value)}};
  FUZZ_CHECK(consumed_record_json(std::nullopt, 7, 1, value) ==
             expected_line.dump(-1, ' ', false, json::error_handler_t::replace));
  check_log_line(std::nullopt, value);
  check_log_line(value, value);
  return 0;
}
