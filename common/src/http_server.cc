#include "knbench/common/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace knbench {
namespace {

// Requests are small GETs; anything larger is not a client of ours.
constexpr size_t kMaxRequestBytes = 8192;
// Bounds how long a silent or slow client can hold a connection thread.
constexpr int kReadTimeoutMs = 5000;
// Bounds threads (and fds) spent on connections at once.
constexpr int kMaxConnections = 64;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// False when the client went away.
bool WriteAll(int fd, absl::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

HttpResponse Error(int status, absl::string_view message) {
  return HttpResponse{status, "text/plain; charset=utf-8",
                      absl::StrCat(message, "\n")};
}

// Reads until the end of the request head. Returns the status to answer with
// when the request cannot be read (0 when it was read whole).
int ReadHead(int fd, std::string* head) {
  char buf[2048];
  while (head->find("\r\n\r\n") == std::string::npos &&
         head->find("\n\n") == std::string::npos) {
    if (head->size() > kMaxRequestBytes) return 413;
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, kReadTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return 408;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return head->empty() ? -1 : 400;
    head->append(buf, static_cast<size_t>(n));
  }
  return 0;
}

}  // namespace

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& path, Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handlers_[path] = std::move(handler);
}

absl::Status HttpServer::Start(const std::string& address, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad listen address '", address, "'"));
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 128) != 0) {
    absl::Status status = absl::UnavailableError(absl::StrCat(
        "cannot listen on ", address, ":", port, ": ", std::strerror(errno)));
    close(fd);
    return status;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (listen_fd_ < 0 || stopping_.exchange(true)) return;
  // shutdown() wakes the accept() blocked in the accept thread.
  shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  close(listen_fd_);
  // Connection threads finish within the read timeout; wait for them so no
  // handler runs after its owner is gone.
  std::unique_lock<std::mutex> lock(mu_);
  connections_done_.wait(lock, [this] { return active_connections_ == 0; });
}

void HttpServer::AcceptLoop() {
  while (!stopping_) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stopping_) return;
      // Out of fds or similar: back off instead of spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (active_connections_ >= kMaxConnections) {
        WriteAll(fd,
                 "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n");
        close(fd);
        continue;
      }
      ++active_connections_;
    }
    std::thread([this, fd] {
      ServeConnection(fd);
      close(fd);
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_connections_ == 0) connections_done_.notify_all();
    }).detach();
  }
}

void HttpServer::ServeConnection(int fd) {
  std::string head;
  int read_status = ReadHead(fd, &head);
  if (read_status < 0) return;  // Connected and closed without a request.
  HttpResponse response;
  std::string method;
  if (read_status != 0) {
    response = Error(read_status, Reason(read_status));
  } else {
    std::string request_line = head.substr(0, head.find_first_of("\r\n"));
    std::vector<std::string> parts =
        absl::StrSplit(request_line, ' ', absl::SkipEmpty());
    if (parts.size() != 3 || parts[1].empty() || parts[1][0] != '/' ||
        parts[2].rfind("HTTP/", 0) != 0) {
      response = Error(400, "malformed request line");
    } else {
      method = parts[0];
      std::string path = parts[1].substr(0, parts[1].find('?'));
      response = Dispatch(method, path);
    }
  }
  int file = -1;
  size_t length = response.body.size();
  if (!response.file_path.empty()) {
    file = open(response.file_path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat info {};
    if (file < 0 || fstat(file, &info) != 0) {
      if (file >= 0) close(file);
      file = -1;
      response = Error(500, absl::StrCat("cannot read ", response.file_path,
                                         ": ", std::strerror(errno)));
      length = response.body.size();
    } else {
      length = static_cast<size_t>(info.st_size);
    }
  }
  std::string out = absl::StrCat(
      "HTTP/1.1 ", response.status, " ", Reason(response.status),
      "\r\nContent-Type: ", response.content_type,
      "\r\nContent-Length: ", length, "\r\nConnection: close\r\n\r\n");
  if (method != "HEAD" && file < 0) out += response.body;
  const bool sent_head = WriteAll(fd, out);
  if (file >= 0 && sent_head && method != "HEAD") {
    // Exactly the announced length, even if the file grows meanwhile.
    char buf[65536];
    size_t left = length;
    while (left > 0) {
      ssize_t n = read(file, buf, std::min(left, sizeof(buf)));
      if (n <= 0 ||
          !WriteAll(fd, absl::string_view(buf, static_cast<size_t>(n)))) {
        break;
      }
      left -= static_cast<size_t>(n);
    }
  }
  if (file >= 0) close(file);
}

HttpResponse HttpServer::Dispatch(const std::string& method,
                                  const std::string& path) {
  if (method != "GET" && method != "HEAD") {
    return Error(405, "only GET and HEAD are served");
  }
  Handler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = handlers_.find(path);
    if (it == handlers_.end()) return Error(404, "not found");
    handler = it->second;
  }
  return handler();
}

}  // namespace knbench
