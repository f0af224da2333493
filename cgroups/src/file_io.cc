#include "file_io.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace knbench::cgroups {

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status WriteText(const std::string& path, absl::string_view text) {
  const int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  }
  const ssize_t n = write(fd, text.data(), text.size());
  const int write_errno = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write \"", text, "\" to ", path, ": ",
                     n < 0 ? strerror(write_errno) : "short write"));
  }
  return absl::OkStatus();
}

absl::Status WriteAll(
    const std::vector<std::pair<std::string, std::string>>& writes) {
  for (const auto& [path, text] : writes) {
    absl::Status status = WriteText(path, text);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

std::map<std::string, int64_t> ParseKeyed(absl::string_view text) {
  std::map<std::string, int64_t> keyed;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t value = 0;
    if (words.size() == 2 && absl::SimpleAtoi(words[1], &value)) {
      keyed[std::string(words[0])] = value;
    }
  }
  return keyed;
}

void Reads::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

std::vector<std::string> Reads::Words(const std::string& path) {
  absl::StatusOr<std::string> text = ReadText(path);
  if (!text.ok()) {
    Fail(text.status());
    return {};
  }
  return absl::StrSplit(*text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
}

int64_t Reads::Number(const std::string& word, const std::string& path) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(word, &value) && ok()) {
    Fail(absl::DataLossError(
        absl::StrCat(path, " holds no number: \"", word, "\"")));
  }
  return value;
}

std::optional<int64_t> Reads::Limit(const std::string& word,
                                    const std::string& path) {
  if (word == "max") return std::nullopt;
  return Number(word, path);
}

int64_t Reads::Int(const std::string& path) {
  const std::vector<std::string> words = Words(path);
  if (!ok()) return 0;
  return Number(words.empty() ? "" : words[0], path);
}

std::map<std::string, int64_t> Reads::Keyed(const std::string& path) {
  absl::StatusOr<std::string> text = ReadText(path);
  if (!text.ok()) {
    Fail(text.status());
    return {};
  }
  return ParseKeyed(*text);
}

int64_t Reads::Field(const std::map<std::string, int64_t>& keyed,
                     const std::string& key, const std::string& path) {
  const auto it = keyed.find(key);
  if (it != keyed.end()) return it->second;
  if (ok()) Fail(absl::DataLossError(absl::StrCat(path, " has no ", key)));
  return 0;
}

void ReadCfs(Reads& reads, const std::string& cpu_stat,
             const char* throttled_key, double seconds_per_unit, Usage& usage) {
  const std::map<std::string, int64_t> cpu = reads.Keyed(cpu_stat);
  usage.cfs_periods = reads.Field(cpu, "nr_periods", cpu_stat);
  usage.cfs_throttled_periods = reads.Field(cpu, "nr_throttled", cpu_stat);
  usage.cfs_throttled_seconds =
      reads.Field(cpu, throttled_key, cpu_stat) * seconds_per_unit;
}

double WorkingSet(Reads& reads, const std::string& usage_file,
                  const std::string& stat_file, const char* inactive_key) {
  const int64_t in_use = reads.Int(usage_file);
  const int64_t inactive =
      reads.Field(reads.Keyed(stat_file), inactive_key, stat_file);
  return static_cast<double>(std::max<int64_t>(in_use - inactive, 0));
}

}  // namespace knbench::cgroups
