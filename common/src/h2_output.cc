#include "knbench/common/h2_output.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>

namespace knbench {
namespace {

// Appends everything nghttp2 has queued; false on its error.
bool Gather(nghttp2_session* h2, std::string* buf, int* h2_error) {
  while (true) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(h2, &data);
    if (n < 0) {
      *h2_error = static_cast<int>(n);
      return false;
    }
    if (n == 0) return true;
    buf->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
}

}  // namespace

H2Flush FlushH2(nghttp2_session* h2, int fd, H2Output* out, int* h2_error) {
  while (true) {
    if (!out->Pending()) {
      out->buf.clear();
      out->done = 0;
      // Everything nghttp2 has queued, in one buffer: one write.
      if (!Gather(h2, &out->buf, h2_error)) return H2Flush::kSessionError;
      if (out->buf.empty()) return H2Flush::kDone;
    }
    const ssize_t n =
        send(fd, out->buf.data() + out->done, out->buf.size() - out->done,
             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out->done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return H2Flush::kBlocked;
    }
    return H2Flush::kSocketError;
  }
}

}  // namespace knbench
