// The one place that includes Boost.Asio and Boost.Beast.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>; include it first (and keep
// clang-format from sorting it after: the fuzz build, which has no precompiled header, fails then).
// clang-format off
#include <utility>
// clang-format on

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace kd {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
}  // namespace kd
