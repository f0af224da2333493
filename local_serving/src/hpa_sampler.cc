#include "knbench/local_serving/hpa_sampler.h"

#include <cmath>
#include <cstdint>

namespace knbench::local_serving {

namespace am = autoscaler_model;

absl::Duration HpaSampler::Offset(absl::Time t) const {
  return absl::Trunc(t - origin_, absl::Milliseconds(1));
}

am::HpaSample HpaSampler::Take(absl::Duration time, absl::Time now,
                               const std::vector<PodObservation>& pods) {
  am::HpaSample sample;
  sample.time = time;
  std::map<std::string, Reading> readings;
  for (const PodObservation& o : pods) {
    am::HpaPod pod;
    pod.name = o.name;
    pod.ready = o.ready;
    if (o.started) pod.start = Offset(o.start);
    // A pending pod has no Ready condition yet: the sample's time stands.
    pod.ready_since = o.started ? Offset(o.ready_since) : time;
    if (o.pid != 0 && o.usage.has_value()) {
      const Reading now_read{o.pid, o.usage->cpu_seconds, now};
      const auto last = last_.find(o.name);
      if (last != last_.end() && last->second.pid == o.pid &&
          now > last->second.at &&
          now_read.cpu_seconds >= last->second.cpu_seconds) {
        const double cores = (now_read.cpu_seconds - last->second.cpu_seconds) /
                             absl::ToDoubleSeconds(now - last->second.at);
        pod.cpu_millicores = static_cast<int64_t>(std::ceil(cores * 1000));
        pod.memory_bytes =
            static_cast<int64_t>(o.usage->memory_working_set_bytes);
      }
      readings[o.name] = now_read;
    }
    sample.pods.push_back(std::move(pod));
  }
  last_ = std::move(readings);
  return sample;
}

}  // namespace knbench::local_serving
