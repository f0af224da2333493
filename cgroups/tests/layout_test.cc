#include "knbench/cgroups/layout.h"

#include "fake_kernel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace knbench::cgroups {
namespace {

using testing::FakeV1;
using testing::FakeV2;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempTree;

TEST(ParseProcCgroup, ControllersV2LineAndNamedHierarchies) {
  const auto paths = ParseProcCgroup(
      "9:name=systemd:/\n"
      "4:memory:/process_api/065f\n"
      "2:cpu,cpuacct:/a:b\n"
      "0::/user.slice/x.scope\n");
  EXPECT_EQ(paths.at("memory"), "/process_api/065f");
  EXPECT_EQ(paths.at("cpu"), "/a:b");  // a path may hold ':'
  EXPECT_EQ(paths.at("cpuacct"), "/a:b");
  EXPECT_EQ(paths.at(""), "/user.slice/x.scope");
  EXPECT_EQ(paths.at("name=systemd"), "/");
}

TEST(ParseMountinfo, OptionalFieldsEscapesAndSuperOptions) {
  const auto mounts = ParseMountinfo(
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup "
      "rw,cpu\n"
      "41 31 0:38 /sub /mnt/with\\040space rw - cgroup2 cgroup2 rw\n"
      "garbage line\n");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(mounts[0].fs_type, "cgroup");
  EXPECT_THAT(mounts[0].super_options, ::testing::ElementsAre("rw", "cpu"));
  EXPECT_EQ(mounts[1].root, "/sub");
  EXPECT_EQ(mounts[1].mount_point, "/mnt/with space");
  EXPECT_EQ(mounts[1].fs_type, "cgroup2");
}

TEST(DetectLayout, V1SeparateHierarchiesUnderOwnCgroup) {
  TempTree tree;
  const SystemFiles files = FakeV1(tree, false, "/process_api/abc");
  const Layout layout = DetectLayout(files);
  ASSERT_EQ(layout.version, Version::kV1) << layout.reason;
  EXPECT_EQ(layout.own.cpu, tree.Path("sys/fs/cgroup/cpu/process_api/abc"));
  EXPECT_EQ(layout.own.cpuacct,
            tree.Path("sys/fs/cgroup/cpuacct/process_api/abc"));
  EXPECT_EQ(layout.own.memory,
            tree.Path("sys/fs/cgroup/memory/process_api/abc"));
  EXPECT_EQ(layout.own.Distinct().size(), 3u);
  EXPECT_EQ(layout.own_cpu_path, "/process_api/abc");
}

TEST(DetectLayout, V1CoMountedCpuAndCpuacctShareOneDirectory) {
  TempTree tree;
  const Layout layout = DetectLayout(FakeV1(tree, true, "/"));
  ASSERT_EQ(layout.version, Version::kV1) << layout.reason;
  EXPECT_EQ(layout.own.cpu, tree.Path("sys/fs/cgroup/cpu,cpuacct"));
  EXPECT_EQ(layout.own.cpu, layout.own.cpuacct);
  EXPECT_EQ(layout.own.Distinct().size(), 2u);
}

TEST(DetectLayout, MountOfASubtreeStripsItsRoot) {
  TempTree tree;
  tree.Write("mnt/cg/cgroup.controllers", "cpu memory\n");
  tree.Write("proc/cgroup", "0::/kubepods/pod1\n");
  tree.Write("proc/mountinfo", "41 31 0:38 /kubepods/pod1 " +
                                   tree.Path("mnt/cg") +
                                   " rw - cgroup2 cgroup2 rw\n");
  const Layout layout =
      DetectLayout({tree.Path("proc/cgroup"), tree.Path("proc/mountinfo")});
  ASSERT_EQ(layout.version, Version::kV2) << layout.reason;
  EXPECT_EQ(layout.own.cpu, tree.Path("mnt/cg"));
}

TEST(DetectLayout, V2WhereCpuAndMemoryAreDelegated) {
  TempTree tree;
  const Layout layout =
      DetectLayout(FakeV2(tree, "/user.slice/t.scope", "cpuset cpu io memory"));
  ASSERT_EQ(layout.version, Version::kV2) << layout.reason;
  EXPECT_EQ(layout.own.cpu, tree.Path("sys/fs/cgroup/user.slice/t.scope"));
  EXPECT_EQ(layout.own.memory, layout.own.cpu);
  EXPECT_EQ(layout.own.Distinct().size(), 1u);
}

TEST(DetectLayout, V2WithoutMemoryIsNoneAndSaysWhy) {
  TempTree tree;
  const Layout layout = DetectLayout(FakeV2(tree, "/", "cpu io pids"));
  EXPECT_EQ(layout.version, Version::kNone);
  EXPECT_THAT(layout.reason, StartsWith("cgroup v1: no cpu hierarchy; "));
  EXPECT_THAT(layout.reason, HasSubstr("cgroup.controllers lacks memory"));
  EXPECT_EQ(layout.reason.find('\n'), std::string::npos);
}

TEST(DetectLayout, NothingMountedOrUnreadable) {
  TempTree tree;
  tree.Write("cgroup", "0::/\n");
  tree.Write("mountinfo", "25 1 0:22 / / rw - ext4 /dev/vda rw\n");
  Layout layout = DetectLayout({tree.Path("cgroup"), tree.Path("mountinfo")});
  EXPECT_EQ(layout.version, Version::kNone);
  EXPECT_EQ(layout.reason,
            "cgroup v1: no cpu hierarchy; cgroup v2: not mounted");
  layout = DetectLayout({tree.Path("missing"), tree.Path("mountinfo")});
  EXPECT_EQ(layout.version, Version::kNone);
  EXPECT_THAT(layout.reason, HasSubstr("missing"));
}

}  // namespace
}  // namespace knbench::cgroups
