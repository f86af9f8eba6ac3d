#include "gateway/console_assets.hpp"

namespace kd::gateway {

const ConsoleAsset* find_console_asset(std::string_view name) {
  for (std::size_t i = 0; i < kConsoleAssetCount; ++i) {
    if (kConsoleAssets[i].name == name) return &kConsoleAssets[i];
  }
  return nullptr;
}

}  // namespace kd::gateway
