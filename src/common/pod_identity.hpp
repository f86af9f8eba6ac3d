// Which partition an instance serves, from its StatefulSet pod name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace kd {

// The ordinal of a StatefulSet pod name: the whole number after the last '-' ("order-12" -> 12).
// Nothing if there is no '-', nothing after it, or anything but digits (the seed's regex took only the
// last digit, so its order-12 would have written to partition 2).
std::optional<int> ordinal_from_name(std::string_view name);

// POD_NAME (the downward API) wins over the host name, which is the pod name in Kubernetes too.
// The partition must be one of the topic's [0, partitions).
Result<int> resolve_partition(const std::string& pod_name, const std::string& hostname, int partitions);

std::string current_hostname();

}  // namespace kd
