// librdkafka error codes to the domain's Error.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <string>

#include "common/result.hpp"

namespace kd::kafka {

// Nearly every broker-side failure is worth retrying later (503); a message the broker will never take
// is the caller's fault (400).
inline Error to_error(RdKafka::ErrorCode code, const std::string& context) {
  const Errc errc = code == RdKafka::ERR_MSG_SIZE_TOO_LARGE ? Errc::bad_request : Errc::unavailable;
  return Error{errc, context + ": " + RdKafka::err2str(code)};
}

}  // namespace kd::kafka
