// The repository's reading of its shipment ledger at start: ShipmentLedger::open.
// Input: the ledger file's content, as is. It is written to a file in a private temporary directory
// (under /dev/shm when there is one, so syncing costs nothing) and opened from there.
// Properties: a ledger that opens has lost only its torn last line (on disk too), counts one shipment per
// line whose id is not "-", and resumes after the largest offset it holds; one more shipment recorded,
// synced and reopened moves it on by exactly one. A ledger that does not open is an internal error.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "repository/shipment_ledger.hpp"

namespace {

namespace fs = std::filesystem;

fs::path ledger_path;

void remove_directory() {
  std::error_code ec;
  fs::remove_all(ledger_path.parent_path(), ec);
}

void write(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::path(tmp ? tmp : "/tmp");
  std::string pattern = (base / "kd-ledger-fuzz-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  ledger_path = fs::path(pattern) / "shipments.ledger";
  std::atexit(remove_directory);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kd;
  using repository::ShipmentLedger;
  const auto content = fuzz::as_text(data, size);
  write(ledger_path, content);
  constexpr std::size_t remember = 4;  // small, so forgetting old ids is exercised too
  auto ledger = ShipmentLedger::open(ledger_path, remember);
  if (!ledger) {
    FUZZ_CHECK(ledger.error().code == Errc::internal);
    return 0;
  }

  const auto last_newline = content.rfind('\n');
  const auto complete = content.substr(0, last_newline == std::string_view::npos ? 0 : last_newline + 1);
  FUZZ_CHECK(read(ledger_path) == complete);

  std::int64_t shipped = 0;
  std::int64_t largest = -1;
  for (std::string_view rest = complete; !rest.empty();) {
    const auto line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(line.size() + 1);
    const auto space = line.find(' ');
    FUZZ_CHECK(space != std::string_view::npos);
    std::int64_t offset = -1;
    std::from_chars(line.data(), line.data() + space, offset);
    largest = std::max(largest, offset);
    if (line.substr(space + 1) != "-") ++shipped;
  }
  FUZZ_CHECK((*ledger)->shipped() == shipped);
  if (complete.empty()) {
    FUZZ_CHECK(!(*ledger)->next_offset().has_value());
  } else {
    FUZZ_CHECK((*ledger)->next_offset().has_value() && *(*ledger)->next_offset() - 1 == largest);
  }

  const std::int64_t next = (*ledger)->next_offset().value_or(0);
  if (next == std::numeric_limits<std::int64_t>::max()) return 0;  // no offset after it to resume at
  const OrderId id{"1468136426238382080"};
  (*ledger)->record_shipped(next, id);
  FUZZ_CHECK((*ledger)->sync().ok());
  ledger = ShipmentLedger::open(ledger_path, remember);
  FUZZ_CHECK(ledger.ok());
  FUZZ_CHECK((*ledger)->next_offset() == next + 1);
  FUZZ_CHECK((*ledger)->shipped() == shipped + 1);
  FUZZ_CHECK((*ledger)->contains(id));
  return 0;
}
