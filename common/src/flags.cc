#include "knbench/common/flags.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
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

std::string Underscored(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"-", "_"}});
}

// Flags defined by absl itself (--flagfile, --fromenv ...) are not ours to
// document or accept.
bool IsOurs(const absl::CommandLineFlag& flag) {
  return !absl::StrContains(flag.Filename(), "absl/");
}

absl::CommandLineFlag* FindAbsl(const std::string& name) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && IsOurs(*flag) ? flag : nullptr;
}

// The flag an argument names: an ABSL_FLAG or a row of the table.
class NamedFlag {
 public:
  static NamedFlag Find(absl::string_view dashed_name,
                        const std::vector<TableFlag>& table) {
    const std::string name = Underscored(dashed_name);
    for (const TableFlag& row : table) {
      if (row.name == name) return NamedFlag(nullptr, &row);
    }
    return NamedFlag(FindAbsl(name), nullptr);
  }

  bool found() const { return absl_ != nullptr || row_ != nullptr; }
  bool is_bool() const {
    return row_ != nullptr ? row_->is_bool : absl_->IsOfType<bool>();
  }
  bool is_list() const {
    return absl_ != nullptr && absl_->IsOfType<std::vector<std::string>>();
  }
  std::string name() const {
    return row_ != nullptr ? row_->name : std::string(absl_->Name());
  }
  std::string current() const { return absl_->CurrentValue(); }

  absl::Status Set(absl::string_view value) const {
    std::string error;
    bool ok = false;
    if (row_ != nullptr) {
      const absl::Status st = row_->set(value);
      ok = st.ok();
      error = std::string(st.message());
    } else {
      ok = absl_->ParseFrom(value, &error);
    }
    if (ok) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("--", Dashed(name()), "=", value, ": ", error));
  }

 private:
  NamedFlag(absl::CommandLineFlag* absl, const TableFlag* row)
      : absl_(absl), row_(row) {}
  absl::CommandLineFlag* absl_;
  const TableFlag* row_;
};

// A name in the table and among the ABSL_FLAGs would make one of them
// unreachable: a programming error, reported on the first parse.
absl::Status CheckTable(const std::vector<TableFlag>& table) {
  for (const TableFlag& row : table) {
    if (FindAbsl(row.name) != nullptr) {
      return absl::InternalError(
          absl::StrCat("flag --", Dashed(row.name), " is defined twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseFlags(
    const std::vector<std::string>& args, std::set<std::string>* given,
    const std::vector<TableFlag>& table) {
  if (absl::Status st = CheckTable(table); !st.ok()) return st;
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
    NamedFlag flag = NamedFlag::Find(name, table);
    const bool negated = !flag.found() && absl::StartsWith(name, "no");
    if (negated) flag = NamedFlag::Find(name.substr(2), table);
    if (!flag.found() || (negated && !flag.is_bool())) {
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
    } else if (flag.is_bool()) {
      value = negated ? "false" : "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " needs a value"));
    }
    // A list flag given again appends (--worker-arg=a --worker-arg=b).
    if (flag.is_list() && !lists_seen.insert(flag.name()).second) {
      value = absl::StrCat(flag.current(), ",", value);
    }
    if (absl::Status status = flag.Set(value); !status.ok()) return status;
    if (given != nullptr) given->insert(flag.name());
  }
  return positional;
}

std::string FlagsHelp(absl::string_view usage,
                      const std::vector<TableFlag>& table) {
  // name -> (default as shown, help)
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>>
      flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsOurs(*flag)) continue;
    std::string default_value = flag->DefaultValue();
    if (flag->IsOfType<std::string>() ||
        flag->IsOfType<std::vector<std::string>>()) {
      default_value = absl::StrCat("\"", default_value, "\"");
    }
    flags.push_back({std::string(flag->Name()), {default_value, flag->Help()}});
  }
  for (const TableFlag& row : table) {
    flags.push_back({row.name, {row.default_text, row.help}});
  }
  std::sort(flags.begin(), flags.end());
  std::string text = absl::StrCat(usage, "\n\nFlags:\n");
  for (const auto& [name, about] : flags) {
    absl::StrAppend(&text, "  --", Dashed(name), " (default ", about.first,
                    ")\n      ", about.second, "\n");
  }
  absl::StrAppend(&text, "  --help\n      Print this help and exit.\n");
  return text;
}

std::vector<std::string> ParseFlagsOrExit(int argc, char** argv,
                                          absl::string_view program,
                                          absl::string_view usage,
                                          std::set<std::string>* given,
                                          const std::vector<TableFlag>& table) {
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      std::cout << FlagsHelp(usage, table);
      std::exit(0);
    }
  }
  absl::StatusOr<std::vector<std::string>> positional =
      ParseFlags(args, given, table);
  if (!positional.ok()) {
    std::cerr << program << ": " << positional.status().message() << "\n";
    std::exit(2);
  }
  return *positional;
}

}  // namespace knbench
