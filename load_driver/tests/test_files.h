#ifndef KNBENCH_LOAD_DRIVER_TESTS_TEST_FILES_H_
#define KNBENCH_LOAD_DRIVER_TESTS_TEST_FILES_H_

#include <stdlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace knbench::load_driver {

inline std::string MakeTempDir() {
  char name[] = "/tmp/knbench_driver_XXXXXX";
  return mkdtemp(name) ? name : "/tmp";
}

struct Csv {
  std::string header;
  std::vector<std::vector<std::string>> rows;
  bool last_line_complete = true;
};

inline Csv ReadCsv(const std::string& path) {
  Csv csv;
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  csv.last_line_complete = all.empty() || all.back() == '\n';
  std::vector<std::string> lines = absl::StrSplit(all, '\n', absl::SkipEmpty());
  if (lines.empty()) return csv;
  csv.header = lines[0];
  for (size_t i = 1; i < lines.size(); ++i) {
    csv.rows.push_back(absl::StrSplit(lines[i], ','));
  }
  return csv;
}

// The integer value of a top-level "key": N in the summary JSON, or -1.
inline int64_t JsonInt(const std::string& json, const std::string& key) {
  const std::string needle = "\n  \"" + key + "\": ";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  const size_t start = at + needle.size();
  const size_t end = json.find_first_of(",\n", start);
  int64_t v = -1;
  if (!absl::SimpleAtoi(json.substr(start, end - start), &v)) return -1;
  return v;
}

// The number value of a top-level "key": N in the summary JSON, or -1.
inline double JsonDouble(const std::string& json, const std::string& key) {
  const std::string needle = "\n  \"" + key + "\": ";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  const size_t start = at + needle.size();
  const size_t end = json.find_first_of(",\n", start);
  double v = -1;
  if (!absl::SimpleAtod(json.substr(start, end - start), &v)) return -1;
  return v;
}

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_TESTS_TEST_FILES_H_
