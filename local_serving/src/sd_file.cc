#include "knbench/local_serving/sd_file.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "knbench/common/json.h"
#include "knbench/common/log.h"
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

SdFileWriter::SdFileWriter(std::string path, std::string host,
                           std::string namespace_name, std::string service_name)
    : path_(std::move(path)),
      host_(std::move(host)),
      namespace_name_(std::move(namespace_name)),
      service_name_(std::move(service_name)) {}

bool SdFileWriter::Write(const std::vector<PodStatus>& pods) {
  const absl::Status st = WriteFileAtomically(
      path_, FileSdJson(pods, host_, namespace_name_, service_name_));
  if (st.ok()) return true;
  absl::MutexLock lock(&mu_);
  if (error_.ok()) {
    error_ = absl::DataLossError(
        absl::StrCat("--prometheus-sd-file: ", st.message()));
    Logf("error: %s (Prometheus may miss pods)", error_.message());
  }
  return false;
}

absl::Status SdFileWriter::status() const {
  absl::MutexLock lock(&mu_);
  return error_;
}

}  // namespace knbench::local_serving
