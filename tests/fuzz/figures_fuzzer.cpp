// The statistics service's reading of its saved figures at start: decode_figures, then the figures it
// serves at GET /stats.
// Input: the saved snapshot, as is (the state store gives it back byte for byte).
// Properties: accepted figures survive encode (decode(encode(f)) == f, so saving what was loaded loses
// nothing), and render as JSON whose total is the sum of its rows (UBSan reports a sum that overflows).
// Refused ones are a storage error, never an exception.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "statistics/shop_figures.hpp"

namespace {

const kd::RegionNames& regions() {
  static const kd::RegionNames names = kd::RegionNames::parse(kd::kDefaultRegions).value();
  return names;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kd;
  using nlohmann::json;
  const auto figures = statistics::decode_figures(fuzz::as_text(data, size));
  if (!figures) {
    FUZZ_CHECK(figures.error().code == Errc::storage);
    return 0;
  }
  const auto again = statistics::decode_figures(statistics::encode(*figures));
  FUZZ_CHECK(again.ok() && *again == *figures);

  const auto stats = json::parse(figures->to_json(regions(), 3), nullptr, false);
  FUZZ_CHECK(!stats.is_discarded());
  const auto total = figures->total();
  FUZZ_CHECK(stats["total"]["orders"] == total.orders && stats["total"]["revenue"] == total.revenue &&
             stats["total"]["rejected"] == total.rejected);
  FUZZ_CHECK(stats["regions"].size() >= 3);
  return 0;
}
