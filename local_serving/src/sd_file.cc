#include "knbench/local_serving/sd_file.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "knbench/common/json.h"

namespace knbench::local_serving {
namespace {}  // namespace

std::string FileSdJson(const std::vector<PodStatus>& pods,
                       const std::string& host,
                       const std::string& namespace_name,
                       const std::string& service_name) {
  std::string out = "[";
  bool first = true;
  for (const PodStatus& pod : pods) {
    if (pod.pid == 0) continue;
    absl::StrAppend(&out, first ? "\n" : ",\n", "  {\"targets\": [",
                    JsonString(absl::StrCat(host, ":", pod.metrics_port)),
                    "], \"labels\": {\"pod\": ", JsonString(pod.name),
                    ", \"namespace\": ", JsonString(namespace_name),
                    ", \"service\": ", JsonString(service_name), "}}");
    first = false;
  }
  absl::StrAppend(&out, first ? "]\n" : "\n]\n");
  return out;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& content) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = strerror(errno);
    std::remove(tmp.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", tmp, " to ", path, ": ", why));
  }
  return absl::OkStatus();
}

}  // namespace knbench::local_serving
