#ifndef KNBENCH_COMMON_JSON_H_
#define KNBENCH_COMMON_JSON_H_

#include <string>

#include "nlohmann/json.hpp"

namespace knbench {

// JSON values for what we write (summaries, /state, file_sd): objects keep
// their keys in the order they were set, as the docs list them.
using Json = nlohmann::ordered_json;

// `value` as text (`indent` < 0: one line). Strings that are not UTF-8 get
// U+FFFD for the bad bytes instead of an exception: a stray byte in a pod
// name or a path must not stop a report.
std::string JsonText(const Json& value, int indent = -1);

// `v` rounded to `decimals` places, so that a figure prints no finer than
// it is measured (3 for milliseconds: microseconds).
double Rounded(double v, int decimals);

}  // namespace knbench

#endif  // KNBENCH_COMMON_JSON_H_
