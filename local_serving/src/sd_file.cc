#include "knbench/local_serving/sd_file.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "knbench/common/json.h"
#include "knbench/common/net.h"

namespace knbench::local_serving {
std::string FileSdJson(const std::vector<PodStatus>& pods,
                       const std::string& host,
                       const std::string& namespace_name,
                       const std::string& service_name) {
  Json groups = Json::array();
  for (const PodStatus& pod : pods) {
    if (pod.pid == 0) continue;
    groups.push_back(
        {{"targets", Json::array({JoinHostPort(host, pod.metrics_port)})},
         {"labels",
          {{"pod", pod.name},
           {"namespace", namespace_name},
           {"service", service_name}}}});
  }
  return JsonText(groups, 2) + "\n";
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
