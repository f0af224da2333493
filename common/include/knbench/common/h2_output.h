// The write side of an nghttp2 session on a non-blocking socket, as the
// driver's HTTP/2 transport and local serving's router both run it: every
// frame nghttp2 has queued is gathered into one buffer and written with as
// few send() calls as the socket takes, the rest kept for EPOLLOUT.
#ifndef KNBENCH_COMMON_H2_OUTPUT_H_
#define KNBENCH_COMMON_H2_OUTPUT_H_

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <string>

namespace knbench {

// Frames a session produced that its socket has not taken yet.
struct H2Output {
  std::string buf;
  size_t done = 0;  // Bytes of `buf` already sent.

  bool Pending() const { return done < buf.size(); }
  bool Empty() const { return buf.empty(); }
};

enum class H2Flush {
  kDone,          // Everything queued was written.
  kBlocked,       // The socket is full: wait for EPOLLOUT, then flush again.
  kSessionError,  // nghttp2 failed; *h2_error holds its error code.
  kSocketError,   // send() failed; errno says why.
};

// Writes what `h2` has queued (and what `out` still holds) to `fd`.
H2Flush FlushH2(nghttp2_session* h2, int fd, H2Output* out, int* h2_error);

}  // namespace knbench

#endif  // KNBENCH_COMMON_H2_OUTPUT_H_
