// Where each service listens on a laptop, where no Kubernetes Service gives it a name of its own. The
// numbers come from scripts/local/ports.env, the one place they are declared (the scripts, the benchmark
// and the tests read the same file; CMake passes them here).
#pragma once

#include <cstdint>
#include <string>

namespace kd::local_ports {

inline constexpr std::uint16_t kGateway = KD_LOCAL_GATEWAY_PORT;
inline constexpr std::uint16_t kStatistics = KD_LOCAL_STATISTICS_PORT;
inline constexpr std::uint16_t kOrderBase = KD_LOCAL_ORDER_PORT_BASE;            // + partition
inline constexpr std::uint16_t kRepositoryBase = KD_LOCAL_REPOSITORY_PORT_BASE;  // + partition

}  // namespace kd::local_ports

namespace kd {
inline std::string local_listen(int port) { return "127.0.0.1:" + std::to_string(port); }
}  // namespace kd
