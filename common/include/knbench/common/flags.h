#ifndef KNBENCH_COMMON_FLAGS_H_
#define KNBENCH_COMMON_FLAGS_H_

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace knbench {

// A flag described by a table (the autoscaling settings of
// autoscaler_model/setting_table.h) instead of an ABSL_FLAG. ParseFlags and
// FlagsHelp treat it as one: same dashed spelling, same forms, same errors.
// Its name must not be an ABSL_FLAG's too.
struct TableFlag {
  std::string name;  // underscored: max_scale is spelled --max-scale
  std::string help;
  std::string default_text;  // as --help shows it
  bool is_bool = false;      // takes --name, --noname and --name=true|false
  // Parses and keeps `value` ("true" or "false" for --name and --noname).
  // An error says what is wrong with the value; ParseFlags names the flag.
  std::function<absl::Status(absl::string_view value)> set;
};

// Command-line parsing over ABSL_FLAG definitions and `table`, with the
// original project's dashed spelling: --grpc-port sets the flag grpc_port.
// Accepts --name=value, --name value, and for booleans --name, --noname,
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
    std::set<std::string>* given = nullptr,
    const std::vector<TableFlag>& table = {});

// The help text: `usage`, then every flag the program defines (not absl's
// own) and every flag of `table`, dashed, sorted, with help and default.
std::string FlagsHelp(absl::string_view usage,
                      const std::vector<TableFlag>& table = {});

// For main(): --help or -h prints FlagsHelp to stdout and exits 0; a parse
// error prints "<program>: <error>" to stderr and exits 2. Returns the
// positional arguments.
std::vector<std::string> ParseFlagsOrExit(
    int argc, char** argv, absl::string_view program, absl::string_view usage,
    std::set<std::string>* given = nullptr,
    const std::vector<TableFlag>& table = {});

}  // namespace knbench

#endif  // KNBENCH_COMMON_FLAGS_H_
