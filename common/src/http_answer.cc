#include "http_answer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "knbench/common/http_request.h"

namespace knbench::http_internal {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

std::string ResponseHead(int status, const std::string& content_type,
                         int64_t length, const Headers& extra,
                         bool keep_alive) {
  std::string head = absl::StrCat("HTTP/1.1 ", status, " ", Reason(status),
                                  "\r\nContent-Type: ", content_type,
                                  "\r\nContent-Length: ", length, "\r\n");
  for (const auto& [name, value] : extra) {
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  }
  absl::StrAppend(&head, keep_alive ? "" : "Connection: close\r\n", "\r\n");
  return head;
}

}  // namespace

HttpResponse Error(int status, absl::string_view message) {
  return HttpResponse{status, "text/plain; charset=utf-8",
                      absl::StrCat(message, "\n")};
}

Answer BodyAnswer(HttpResponse response, const Headers& extra, bool head_only,
                  bool keep_alive) {
  Answer a;
  a.out = ResponseHead(response.status, response.content_type,
                       static_cast<int64_t>(response.body.size()), extra,
                       keep_alive);
  if (!head_only) a.out += response.body;
  a.reaches_end = !head_only;
  a.on_complete = std::move(response.on_complete);
  return a;
}

Answer FileAnswer(HttpResponse response, const std::string& range_header,
                  bool head_only, bool keep_alive) {
  const int fd = open(response.file_path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat info {};
  if (fd < 0 || fstat(fd, &info) != 0) {
    const int err = errno;
    if (fd >= 0) close(fd);
    return BodyAnswer(
        Error(500, absl::StrCat("cannot read ", response.file_path, ": ",
                                std::strerror(err))),
        {}, head_only, keep_alive);
  }
  const int64_t size = info.st_size;
  const ByteRange range = range_header.empty()
                              ? ByteRange{ByteRange::kWhole, 0, size - 1}
                              : ParseByteRange(range_header, size);
  Headers extra = {{"Accept-Ranges", "bytes"}};
  if (range.kind == ByteRange::kUnsatisfiable) {
    close(fd);
    extra.emplace_back("Content-Range", absl::StrCat("bytes */", size));
    return BodyAnswer(HttpResponse(416, response.content_type, ""), extra,
                      /*head_only=*/true, keep_alive);
  }
  int status = response.status;
  if (range.kind == ByteRange::kPartial) {
    status = 206;
    extra.emplace_back("Content-Range", absl::StrCat("bytes ", range.first, "-",
                                                     range.last, "/", size));
  }
  // Exactly the announced length, even if the file grows meanwhile.
  const int64_t length = range.last - range.first + 1;
  Answer a;
  a.out =
      ResponseHead(status, response.content_type, length, extra, keep_alive);
  if (head_only) {
    close(fd);
  } else {
    a.file_fd = fd;
    a.file_offset = range.first;
    a.file_left = length;
  }
  a.reaches_end = !head_only && range.last == size - 1;
  a.on_complete = std::move(response.on_complete);
  return a;
}

}  // namespace knbench::http_internal
