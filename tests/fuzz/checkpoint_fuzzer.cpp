// The statistics service's reading of its checkpoint file at start: decode_checkpoint, then the figures
// it serves at GET /stats.
// Input: the checkpoint file's content, as is.
// Properties: an accepted checkpoint survives encode (decode(encode(c)) == c, so saving what was loaded
// loses nothing), and its figures render as JSON whose total is the sum of its rows (UBSan reports a sum
// that overflows). A refused one is an internal error, never an exception.
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
  const auto checkpoint = statistics::decode_checkpoint(fuzz::as_text(data, size));
  if (!checkpoint) {
    FUZZ_CHECK(checkpoint.error().code == Errc::internal);
    return 0;
  }
  const auto again = statistics::decode_checkpoint(statistics::encode(*checkpoint));
  FUZZ_CHECK(again.ok() && *again == *checkpoint);

  const auto stats = json::parse(checkpoint->figures.to_json(regions(), 3), nullptr, false);
  FUZZ_CHECK(!stats.is_discarded());
  const auto total = checkpoint->figures.total();
  FUZZ_CHECK(stats["total"]["orders"] == total.orders && stats["total"]["revenue"] == total.revenue &&
             stats["total"]["rejected"] == total.rejected);
  FUZZ_CHECK(stats["regions"].size() >= 3);
  return 0;
}
