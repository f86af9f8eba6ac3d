#include "common/http/listen_address.hpp"

#include <stdexcept>

namespace kd {

Result<tcp::endpoint> parse_listen_address(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return make_error(Errc::config, "listen address '" + listen + "' needs host:port");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec)
    return make_error(Errc::config, "listen address '" + listen + "': '" + host + "' is not an IP address");
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return make_error(Errc::config, "listen address '" + listen + "' has no valid port");
  }
  return tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

}  // namespace kd
