// Kubernetes resource quantities ("500m", "1", "0.5", "256Mi", "1G", "2e3"),
// as a manifest's resources.requests and resources.limits hold them, in the
// units the kubelet applies: CPU in millicores, memory in bytes. Both round
// up, as Kubernetes' Quantity.MilliValue() and Value() do.
#ifndef KNBENCH_COMMON_QUANTITY_H_
#define KNBENCH_COMMON_QUANTITY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace knbench {

// "500m" -> 500, "1" -> 1000, "0.25" -> 250, "1.5k" -> 1500000. Errors
// name what is wrong; negative values and values above 10^12 millicores
// are refused.
absl::StatusOr<int64_t> ParseCpuMillis(absl::string_view quantity);

// "256Mi" -> 268435456, "1G" -> 1000000000, "128974848" -> 128974848,
// "129e6" -> 129000000. Negative values and values above 2^60 bytes are
// refused.
absl::StatusOr<int64_t> ParseMemoryBytes(absl::string_view quantity);

}  // namespace knbench

#endif  // KNBENCH_COMMON_QUANTITY_H_
