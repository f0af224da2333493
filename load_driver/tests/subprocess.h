#ifndef KNBENCH_LOAD_DRIVER_TESTS_SUBPROCESS_H_
#define KNBENCH_LOAD_DRIVER_TESTS_SUBPROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char** environ;

namespace knbench::load_driver {

// A child process with stdout and stderr captured to files.
class Subprocess {
 public:
  Subprocess(std::vector<std::string> argv, const std::string& log_prefix)
      : out_path_(log_prefix + ".stdout"), err_path_(log_prefix + ".stderr") {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Subprocess() {
    if (pid_ > 0 && !exit_code_) {
      kill(pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  void Signal(int sig) {
    if (pid_ > 0 && !exit_code_) kill(pid_, sig);
  }
  // Exit code (128+signal if killed), or nullopt if still running at timeout.
  std::optional<int> Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!exit_code_) {
      int st = 0;
      const pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (absl::Now() >= deadline) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return exit_code_;
  }
  std::string Stdout() const { return Read(out_path_); }
  std::string Stderr() const { return Read(err_path_); }

  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_, err_path_;
};

}  // namespace knbench::load_driver

#endif  // KNBENCH_LOAD_DRIVER_TESTS_SUBPROCESS_H_
