#ifndef KNBENCH_LOAD_DRIVER_TESTS_TEST_FILES_H_
#define KNBENCH_LOAD_DRIVER_TESTS_TEST_FILES_H_

#include <stdlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

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

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_TESTS_TEST_FILES_H_
