// The --listen setting: where a server binds. A wrong one is a configuration error, said at start.
#pragma once

#include <string>

#include "common/net.hpp"
#include "common/result.hpp"

namespace kd {

// "host:port" -> endpoint; the host must be a numeric address or "localhost"/"0.0.0.0" (empty: all).
Result<tcp::endpoint> parse_listen_address(const std::string& listen);

}  // namespace kd
