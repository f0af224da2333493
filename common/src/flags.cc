#include "knbench/common/flags.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace knbench {
namespace {

std::string Dashed(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"_", "-"}});
}

// Flags defined by absl itself (--flagfile, --fromenv ...) are not ours to
// document or accept.
bool IsOurs(const absl::CommandLineFlag& flag) {
  return !absl::StrContains(flag.Filename(), "absl/");
}

absl::CommandLineFlag* Find(absl::string_view dashed_name) {
  absl::CommandLineFlag* flag =
      absl::FindCommandLineFlag(absl::StrReplaceAll(dashed_name, {{"-", "_"}}));
  return flag != nullptr && IsOurs(*flag) ? flag : nullptr;
}

absl::Status Set(absl::CommandLineFlag& flag, absl::string_view value) {
  std::string error;
  if (!flag.ParseFrom(value, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", Dashed(flag.Name()), "=", value, ": ", error));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseFlags(
    const std::vector<std::string>& args, std::set<std::string>* given) {
  std::vector<std::string> positional;
  std::set<std::string> lists_seen;  // list flags given so far
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.emplace_back(arg);
      continue;
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    absl::CommandLineFlag* flag = Find(name);
    const bool negated = flag == nullptr && absl::StartsWith(name, "no");
    if (negated) flag = Find(name.substr(2));
    if (flag == nullptr || (negated && !flag->IsOfType<bool>())) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    std::string value;
    if (eq != absl::string_view::npos) {
      if (negated) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value"));
      }
      value = std::string(arg.substr(eq + 1));
    } else if (flag->IsOfType<bool>()) {
      value = negated ? "false" : "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " needs a value"));
    }
    // A list flag given again appends (--worker-arg=a --worker-arg=b).
    if (flag->IsOfType<std::vector<std::string>>() &&
        !lists_seen.insert(std::string(flag->Name())).second) {
      value = absl::StrCat(flag->CurrentValue(), ",", value);
    }
    if (absl::Status status = Set(*flag, value); !status.ok()) return status;
    if (given != nullptr) given->insert(std::string(flag->Name()));
  }
  return positional;
}

std::string FlagsHelp(absl::string_view usage) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsOurs(*flag)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::string text = absl::StrCat(usage, "\n\nFlags:\n");
  for (const absl::CommandLineFlag* flag : flags) {
    std::string default_value = flag->DefaultValue();
    if (flag->IsOfType<std::string>() ||
        flag->IsOfType<std::vector<std::string>>()) {
      default_value = absl::StrCat("\"", default_value, "\"");
    }
    absl::StrAppend(&text, "  --", Dashed(flag->Name()), " (default ",
                    default_value, ")\n      ", flag->Help(), "\n");
  }
  absl::StrAppend(&text, "  --help\n      Print this help and exit.\n");
  return text;
}

std::vector<std::string> ParseFlagsOrExit(int argc, char** argv,
                                          absl::string_view program,
                                          absl::string_view usage,
                                          std::set<std::string>* given) {
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      std::cout << FlagsHelp(usage);
      std::exit(0);
    }
  }
  absl::StatusOr<std::vector<std::string>> positional = ParseFlags(args, given);
  if (!positional.ok()) {
    std::cerr << program << ": " << positional.status().message() << "\n";
    std::exit(2);
  }
  return *positional;
}

}  // namespace knbench
