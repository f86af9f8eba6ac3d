// The one place that includes Boost.Asio and Boost.Beast.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>; include it first.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <utility>

namespace kd {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
}  // namespace kd
