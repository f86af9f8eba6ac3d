// The console's page and assets, built from web/console by npm and Vite at build time and compiled into
// the gateway (cmake/embed_console.cmake): the image, the manifests and a local run serve the same files,
// with nothing to install beside the binary.
#pragma once

#include <cstddef>
#include <string_view>

namespace kd::gateway {

struct ConsoleAsset {
  std::string_view name;  // the path under /console/, "index.html", "assets/index-….js"
  std::string_view content_type;
  std::string_view body;
};

extern const ConsoleAsset kConsoleAssets[];
extern const std::size_t kConsoleAssetCount;

const ConsoleAsset* find_console_asset(std::string_view name);

}  // namespace kd::gateway
