// Runs the real kpa_model binary for the CLI tests: its exit code, stdout
// and stderr, --check-config's JSON, and the settings fed back as flags.
#ifndef KNBENCH_AUTOSCALER_MODEL_TESTS_KPA_MODEL_CLI_UTIL_H_
#define KNBENCH_AUTOSCALER_MODEL_TESTS_KPA_MODEL_CLI_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace knbench::autoscaler_model::cli_test {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// ctest runs tests as parallel processes: give each its own scratch files.
inline std::string Scratch(const std::string& name) {
  return testing::TempDir() + "/kpa_" + std::to_string(getpid()) + "_" +
         testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
         name;
}

inline CliResult RunModel(const std::vector<std::string>& args) {
  const std::string out = Scratch("stdout.txt");
  const std::string err = Scratch("stderr.txt");
  std::string cmd = Quote(KPA_MODEL_BIN);
  for (const auto& a : args) cmd += " " + Quote(a);
  cmd += " >" + Quote(out) + " 2>" + Quote(err);
  const int status = std::system(cmd.c_str());
  CliResult r;
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.out = Slurp(out);
  r.err = Slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

inline std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// --check-config --format=json: the contract scripts read
// (docs/kpa_model.md).
inline nlohmann::json CheckConfig(const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"--check-config", "--format=json"};
  args.insert(args.end(), flags.begin(), flags.end());
  const CliResult r = RunModel(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // stdout is one object (parse throws otherwise); notes go to stderr.
  return nlohmann::json::parse(r.out);
}

// What a script does to replay local_serving's decisions: every non-null
// setting back as a flag gives the same settings.
inline std::vector<std::string> AsFlags(const nlohmann::json& settings) {
  std::vector<std::string> flags;
  for (const auto& [key, value] : settings.items()) {
    if (value.is_null()) continue;
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', '-');
    flags.push_back(
        "--" + name + "=" +
        (value.is_string() ? value.get<std::string>() : value.dump()));
  }
  return flags;
}

// --check-config's text has one key=value line for each of `keys`.
template <size_t N>
void ExpectEachKeyOnce(const std::vector<std::string>& lines,
                       const char* const (&keys)[N]) {
  for (const char* key : keys) {
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                            [&](const std::string& l) {
                              return l.rfind(std::string(key) + "=", 0) == 0;
                            }),
              1)
        << key;
  }
}

}  // namespace knbench::autoscaler_model::cli_test

#endif  // KNBENCH_AUTOSCALER_MODEL_TESTS_KPA_MODEL_CLI_UTIL_H_
