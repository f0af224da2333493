// cold_start: how long the worker takes from exec to listening, and to its
// first successful call. Starts the worker binary N times; each time, right
// after fork, it retries one unary InvokeWorker call over a raw HTTP/2
// connection (no gRPC client library, so the probe adds almost nothing)
// until a response message arrives, then stops the worker with SIGTERM and
// waits for it. The first accepted TCP connection marks "listening".
//
// Prints one JSON object: {"runs": N, "samples_ms": [...], "median_ms": M,
// "min_ms": .., "max_ms": .., "listen_samples_ms": [...],
// "listen_median_ms": ..}. Exit 2 on bad flags, 1 if a run fails.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kUsage[] =
    "usage: cold_start --worker=PATH [--runs=20] [--timeout-ms=10000]\n"
    "  Starts PATH --grpc-port=P --metrics-port=M --bind=127.0.0.1 (free\n"
    "  loopback ports) RUNS times and prints, as JSON, the time from\n"
    "  fork+exec to the gRPC port accepting a connection and to the first\n"
    "  successful InvokeWorker call (duration_ms=0), in milliseconds.\n";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

void AppendFrame(std::string* out, uint8_t type, uint8_t flags, uint32_t stream,
                 const std::string& payload) {
  const uint32_t n = payload.size();
  out->push_back(static_cast<char>((n >> 16) & 0xff));
  out->push_back(static_cast<char>((n >> 8) & 0xff));
  out->push_back(static_cast<char>(n & 0xff));
  out->push_back(static_cast<char>(type));
  out->push_back(static_cast<char>(flags));
  out->push_back(static_cast<char>((stream >> 24) & 0x7f));
  out->push_back(static_cast<char>((stream >> 16) & 0xff));
  out->push_back(static_cast<char>((stream >> 8) & 0xff));
  out->push_back(static_cast<char>(stream & 0xff));
  out->append(payload);
}

// HPACK string literal without Huffman coding (all our strings are < 127).
void AppendHpackString(std::string* out, const std::string& s) {
  out->push_back(static_cast<char>(s.size()));
  out->append(s);
}

// Connection preface, SETTINGS, HEADERS and DATA of one unary call.
std::string BuildRequest(int port) {
  std::string hpack;
  hpack.push_back('\x83');  // :method POST (static 3)
  hpack.push_back('\x86');  // :scheme http (static 6)
  hpack.push_back('\x04');  // :path, literal value, name static 4
  AppendHpackString(&hpack, "/load_worker.LoadWorker/InvokeWorker");
  hpack.push_back('\x01');  // :authority, name static 1
  AppendHpackString(&hpack, "127.0.0.1:" + std::to_string(port));
  hpack.push_back('\x0f');  // content-type, name static 31 (15 + 16)
  hpack.push_back('\x10');
  AppendHpackString(&hpack, "application/grpc");
  hpack.push_back('\x00');  // te: trailers, new name
  AppendHpackString(&hpack, "te");
  AppendHpackString(&hpack, "trailers");

  std::string out = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  AppendFrame(&out, 0x4, 0, 0, "");       // SETTINGS
  AppendFrame(&out, 0x1, 0x4, 1, hpack);  // HEADERS, END_HEADERS
  // WorkRequest{duration_ms=0} serializes to zero bytes: just the gRPC
  // message prefix (uncompressed, length 0).
  AppendFrame(&out, 0x0, 0x1, 1, std::string(5, '\0'));  // DATA, END_STREAM
  return out;
}

// One attempt: true once a DATA frame carrying a gRPC message (>= 5 bytes)
// arrives on stream 1. The server sends a message only for status OK. The
// first time a connection is accepted, `listening` is set to now.
bool TryCall(int port, const std::string& request, Clock::time_point deadline,
             Clock::time_point* listening) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return false;
  }
  if (*listening == Clock::time_point()) *listening = Clock::now();
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return false;
  }
  std::string buf;
  char chunk[4096];
  bool ok = false;
  while (!ok && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const int left = std::chrono::duration_cast<std::chrono::milliseconds>(
                         deadline - Clock::now())
                         .count();
    if (poll(&p, 1, std::max(1, left)) <= 0) break;
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    buf.append(chunk, n);
    size_t pos = 0;
    while (buf.size() - pos >= 9) {
      const auto* h = reinterpret_cast<const unsigned char*>(buf.data() + pos);
      const uint32_t len = (h[0] << 16) | (h[1] << 8) | h[2];
      if (buf.size() - pos < 9 + len) break;
      const uint8_t type = h[3], flags = h[4];
      const uint32_t stream =
          ((h[5] & 0x7f) << 24) | (h[6] << 16) | (h[7] << 8) | h[8];
      if (type == 0x4 && !(flags & 0x1)) {  // SETTINGS without ACK: ack it
        std::string ack;
        AppendFrame(&ack, 0x4, 0x1, 0, "");
        send(fd, ack.data(), ack.size(), MSG_NOSIGNAL);
      }
      if (type == 0x0 && stream == 1 && len >= 5) ok = true;
      if ((type == 0x3 && stream == 1) || type == 0x7) {  // RST / GOAWAY
        pos = buf.size();
        break;
      }
      pos += 9 + len;
    }
    buf.erase(0, pos);
  }
  close(fd);
  return ok;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool FlagValue(const char* arg, const char* name, std::string* value) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  *value = arg + n + 1;
  return true;
}

struct Options {
  std::string worker;
  int runs = 20;
  int timeout_ms = 10000;
};

// 0: go on; otherwise the exit status (--help, or a usage error said).
int ParseArgs(int argc, char** argv, Options* o) {
  std::string value;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kUsage, stdout);
      return -1;
    }
    char* end = nullptr;
    if (FlagValue(argv[i], "--worker", &value)) {
      o->worker = value;
    } else if (FlagValue(argv[i], "--runs", &value)) {
      o->runs = static_cast<int>(std::strtol(value.c_str(), &end, 10));
      if (value.empty() || *end != '\0' || o->runs < 1 || o->runs > 1000) {
        std::fprintf(stderr, "cold_start: bad value \"%s\" for --runs\n",
                     value.c_str());
        return 2;
      }
    } else if (FlagValue(argv[i], "--timeout-ms", &value)) {
      o->timeout_ms = static_cast<int>(std::strtol(value.c_str(), &end, 10));
      if (value.empty() || *end != '\0' || o->timeout_ms < 1) {
        std::fprintf(stderr, "cold_start: bad value \"%s\" for --timeout-ms\n",
                     value.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "cold_start: unknown argument \"%s\"\n", argv[i]);
      return 2;
    }
  }
  if (o->worker.empty()) {
    std::fprintf(stderr, "cold_start: --worker=PATH is required\n");
    return 2;
  }
  if (access(o->worker.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "cold_start: cannot execute \"%s\"\n",
                 o->worker.c_str());
    return 2;
  }
  return 0;
}

// One start of the worker: milliseconds from exec to listening and to the
// first answered call; false (said on stderr) if none came in time.
bool StartOnce(const Options& o, int run, double* listen_ms, double* call_ms) {
  const int port = FreePort(), metrics_port = FreePort();
  if (port < 0 || metrics_port < 0 || port == metrics_port) {
    std::fprintf(stderr, "cold_start: no free loopback port\n");
    return false;
  }
  const std::string request = BuildRequest(port);
  const std::string a1 = "--grpc-port=" + std::to_string(port);
  const std::string a2 = "--metrics-port=" + std::to_string(metrics_port);
  const char a3[] = "--bind=127.0.0.1";
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("cold_start: fork");
    return false;
  }
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDERR_FILENO);
    execl(o.worker.c_str(), o.worker.c_str(), a1.c_str(), a2.c_str(), a3,
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = start + std::chrono::milliseconds(o.timeout_ms);
  bool ok = false;
  Clock::time_point listening;
  while (!ok && Clock::now() < deadline) {
    ok = TryCall(port, request, deadline, &listening);
    if (!ok) {
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) break;  // worker died
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }
  const auto done = Clock::now();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!ok) {
    std::fprintf(stderr,
                 "cold_start: run %d: no successful call within %d ms\n",
                 run + 1, o.timeout_ms);
    return false;
  }
  *call_ms = std::chrono::duration<double, std::milli>(done - start).count();
  *listen_ms =
      std::chrono::duration<double, std::milli>(listening - start).count();
  return true;
}

// Milliseconds to the microsecond.
double Ms(double v) { return std::round(v * 1000) / 1000; }

nlohmann::json AllMs(const std::vector<double>& v) {
  nlohmann::json list = nlohmann::json::array();
  for (double x : v) list.push_back(Ms(x));
  return list;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int code = ParseArgs(argc, argv, &o); code != 0) {
    return code < 0 ? 0 : code;
  }
  std::vector<double> samples, listen_samples;
  for (int r = 0; r < o.runs; ++r) {
    double listen_ms = 0, call_ms = 0;
    if (!StartOnce(o, r, &listen_ms, &call_ms)) return 1;
    samples.push_back(call_ms);
    listen_samples.push_back(listen_ms);
  }
  const auto [min, max] = std::minmax_element(samples.begin(), samples.end());
  const nlohmann::ordered_json out = {
      {"runs", samples.size()},
      {"median_ms", Ms(Median(samples))},
      {"min_ms", Ms(*min)},
      {"max_ms", Ms(*max)},
      {"listen_median_ms", Ms(Median(listen_samples))},
      {"samples_ms", AllMs(samples)},
      {"listen_samples_ms", AllMs(listen_samples)}};
  std::puts(out.dump().c_str());
  return 0;
}
