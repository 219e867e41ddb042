// Running the built tools (QG_TOOLS_DIR) as child processes: fork + exec with stdout and stderr captured in
// files, a working directory of the test's choosing, and either a blocking run with a time limit or a
// started process the test can kill.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "util/atomic_file.h"

namespace qg::testing {

inline std::string tool_path(const std::string& tool) {
  return std::string(QG_TOOLS_DIR) + "/" + tool;
}

/// How a child process ended.
struct ProcessResult {
  bool exited = false;   // normal exit (else killed by a signal)
  int exit_code = -1;    // when exited
  int signal = 0;        // when killed
  std::string out, err;  // what it wrote to stdout and stderr
};

/// A started child process. Its stdout and stderr go to `<capture>.out` and `<capture>.err`.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& cwd, const std::string& capture)
      : capture_(capture) {
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string out = capture + ".out", err = capture + ".err";
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {  // the child: only async-signal-safe calls until exec
      const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out_fd < 0 || err_fd < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0 ||
          ::chdir(cwd.c_str()) != 0) {
        ::_exit(127);
      }
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  /// Whether the process has ended (reaps it if so).
  bool finished() {
    if (reaped_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) record(status);
    return reaped_;
  }

  void kill(int signal = SIGKILL) {
    if (!reaped_) ::kill(pid_, signal);
  }

  /// Waits for the end (killing the process after `limit`) and returns how it ended.
  ProcessResult wait(std::chrono::seconds limit = std::chrono::seconds(300)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!finished()) {
      if (std::chrono::steady_clock::now() > deadline) kill(SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    result_.out = util::read_file(capture_ + ".out");
    result_.err = util::read_file(capture_ + ".err");
    return result_;
  }

 private:
  void record(int status) {
    reaped_ = true;
    result_.exited = WIFEXITED(status);
    result_.exit_code = result_.exited ? WEXITSTATUS(status) : -1;
    result_.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }

  std::string capture_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  ProcessResult result_;
};

/// Runs `tool` (a name in QG_TOOLS_DIR) with `args` in `cwd` to the end.
inline ProcessResult run_tool_process(const std::string& tool, const std::vector<std::string>& args,
                                      const std::string& cwd, const std::string& capture) {
  std::vector<std::string> argv{tool_path(tool)};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess child(argv, cwd, capture);
  return child.wait();
}

}  // namespace qg::testing
