#ifndef KNBENCH_COMMON_FLAGS_H_
#define KNBENCH_COMMON_FLAGS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace knbench {

// Command-line parsing over ABSL_FLAG definitions with the original
// project's dashed spelling: --grpc-port sets the flag grpc_port. Accepts
// --name=value, --name value, and for booleans --name, --noname,
// --name=true|false. A std::vector<std::string> flag given several times
// collects every value (each value may itself be a comma-separated list).
// "--" ends the flags.
//
// Returns the positional arguments (without argv[0]), or an error that
// names the offending argument. When `given` is set, it receives the
// (underscored) names of the flags that were given explicitly, for programs
// whose flags override another source such as a manifest. Does not exit;
// see ParseFlagsOrExit.
absl::StatusOr<std::vector<std::string>> ParseFlags(
    const std::vector<std::string>& args,
    std::set<std::string>* given = nullptr);

// The help text: `usage`, then every flag the program defines (not absl's
// own), dashed, with its help and default.
std::string FlagsHelp(absl::string_view usage);

// For main(): --help or -h prints FlagsHelp to stdout and exits 0; a parse
// error prints "<program>: <error>" to stderr and exits 2. Returns the
// positional arguments.
std::vector<std::string> ParseFlagsOrExit(
    int argc, char** argv, absl::string_view program, absl::string_view usage,
    std::set<std::string>* given = nullptr);

}  // namespace knbench

#endif  // KNBENCH_COMMON_FLAGS_H_
