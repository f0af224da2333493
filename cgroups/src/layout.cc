#include "knbench/cgroups/layout.h"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "file_io.h"

namespace knbench::cgroups {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string DecodeOctal(absl::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const absl::string_view digits = field.substr(i + 1, 3);
      if (std::all_of(digits.begin(), digits.end(),
                      [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>((digits[0] - '0') * 64 +
                                 (digits[1] - '0') * 8 + (digits[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

// The directory of hierarchy path `path` under `mount`.
std::string DirUnder(const Mount& mount, const std::string& path) {
  std::string relative = path;
  if (mount.root != "/" && absl::StartsWith(path, mount.root)) {
    relative = path.substr(mount.root.size());
  }
  if (relative.empty() || relative == "/") return mount.mount_point;
  return absl::StrCat(mount.mount_point,
                      absl::StartsWith(relative, "/") ? "" : "/", relative);
}

const Mount* FindMount(const std::vector<Mount>& mounts,
                       const std::string& fs_type,
                       const std::string& controller) {
  for (const Mount& mount : mounts) {
    if (mount.fs_type != fs_type) continue;
    if (controller.empty() ||
        std::find(mount.super_options.begin(), mount.super_options.end(),
                  controller) != mount.super_options.end()) {
      return &mount;
    }
  }
  return nullptr;
}

struct Sources {
  std::map<std::string, std::string> cgroups;
  std::vector<Mount> mounts;
};

// The v1 layout, or why there is none.
std::optional<Layout> DetectV1(const Sources& sources, std::string* why) {
  Layout layout;
  layout.version = Version::kV1;
  const std::pair<const char*, std::string*> slots[] = {
      {"cpu", &layout.own.cpu},
      {"cpuacct", &layout.own.cpuacct},
      {"memory", &layout.own.memory}};
  for (const auto& [controller, slot] : slots) {
    const auto path = sources.cgroups.find(controller);
    const Mount* mount = FindMount(sources.mounts, "cgroup", controller);
    if (path == sources.cgroups.end() || mount == nullptr) {
      *why = absl::StrCat("no ", controller, " hierarchy");
      return std::nullopt;
    }
    *slot = DirUnder(*mount, path->second);
    if (access(slot->c_str(), W_OK) != 0) {
      *why = absl::StrCat(*slot, " is not writable");
      return std::nullopt;
    }
  }
  layout.own_cpu_path = sources.cgroups.at("cpu");
  return layout;
}

std::optional<Layout> DetectV2(const Sources& sources, std::string* why) {
  const auto path = sources.cgroups.find("");
  const Mount* mount = FindMount(sources.mounts, "cgroup2", "");
  if (path == sources.cgroups.end() || mount == nullptr) {
    *why = "not mounted";
    return std::nullopt;
  }
  const std::string dir = DirUnder(*mount, path->second);
  const std::string controllers_file = dir + "/cgroup.controllers";
  absl::StatusOr<std::string> controllers = ReadText(controllers_file);
  if (!controllers.ok()) {
    *why = std::string(controllers.status().message());
    return std::nullopt;
  }
  const std::vector<std::string> have =
      absl::StrSplit(*controllers, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  for (const char* needed : {"cpu", "memory"}) {
    if (std::find(have.begin(), have.end(), needed) == have.end()) {
      *why = absl::StrCat(controllers_file, " lacks ", needed);
      return std::nullopt;
    }
  }
  if (access(dir.c_str(), W_OK) != 0) {
    *why = absl::StrCat(dir, " is not writable");
    return std::nullopt;
  }
  Layout layout;
  layout.version = Version::kV2;
  layout.own = {dir, dir, dir};
  layout.own_cpu_path = path->second;
  return layout;
}

}  // namespace

const char* VersionName(Version version) {
  switch (version) {
    case Version::kV1:
      return "v1";
    case Version::kV2:
      return "v2";
    case Version::kNone:
      break;
  }
  return "none";
}

std::vector<std::string> ControllerDirs::Distinct() const {
  std::vector<std::string> dirs;
  for (const std::string* dir : {&cpu, &cpuacct, &memory}) {
    if (std::find(dirs.begin(), dirs.end(), *dir) == dirs.end()) {
      dirs.push_back(*dir);
    }
  }
  return dirs;
}

ControllerDirs ControllerDirs::Child(const std::string& name) const {
  return {cpu + "/" + name, cpuacct + "/" + name, memory + "/" + name};
}

std::map<std::string, std::string> ParseProcCgroup(absl::string_view text) {
  std::map<std::string, std::string> paths;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    // hierarchy-ID:controller-list:path; the path may itself hold ':'.
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (parts.size() != 3) continue;
    const std::string path(parts[2]);
    if (parts[1].empty()) {
      paths[""] = path;
      continue;
    }
    for (absl::string_view controller : absl::StrSplit(parts[1], ',')) {
      paths[std::string(controller)] = path;
    }
  }
  return paths;
}

std::vector<Mount> ParseMountinfo(absl::string_view text) {
  std::vector<Mount> mounts;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    // id parent major:minor root mount-point options [optional...] - fstype
    // source super-options
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    const auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) {
      continue;
    }
    Mount mount;
    mount.root = DecodeOctal(fields[3]);
    mount.mount_point = DecodeOctal(fields[4]);
    mount.fs_type = std::string(dash[1]);
    mount.super_options = absl::StrSplit(dash[3], ',');
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

Layout DetectLayout(const SystemFiles& files) {
  Layout none;
  absl::StatusOr<std::string> cgroup = ReadText(files.proc_self_cgroup);
  absl::StatusOr<std::string> mountinfo = ReadText(files.mountinfo);
  if (!cgroup.ok() || !mountinfo.ok()) {
    none.reason = std::string(
        (cgroup.ok() ? mountinfo.status() : cgroup.status()).message());
    return none;
  }
  const Sources sources{ParseProcCgroup(*cgroup), ParseMountinfo(*mountinfo)};
  std::string why_v1, why_v2;
  if (std::optional<Layout> v1 = DetectV1(sources, &why_v1)) return *v1;
  if (std::optional<Layout> v2 = DetectV2(sources, &why_v2)) return *v2;
  none.reason = absl::StrCat("cgroup v1: ", why_v1, "; cgroup v2: ", why_v2);
  return none;
}

}  // namespace knbench::cgroups
