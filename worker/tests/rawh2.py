"""A bare HTTP/2 client for tests that need what no gRPC client sends:
streams that stall halfway, or a grpc-timeout header of our choosing.

Frames are built by hand; header blocks use HPACK literals without
indexing, so no HPACK state is kept. The server's header blocks are not
decoded: tests look at frame types, DATA payloads and SETTINGS.
"""
import socket
import struct
import threading
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = (
    0, 1, 3, 4, 6, 7, 8)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
ENHANCE_YOUR_CALM = 0xB
DEFAULT_WINDOW = 65535


def frame(ftype, flags, stream, payload=b""):
    return (struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) +
            struct.pack(">I", stream) + payload)


def _literal(name, value):
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def grpc_headers(path, extra=()):
    fields = [(":method", "POST"), (":scheme", "http"), (":path", path),
              (":authority", "test"), ("content-type", "application/grpc"),
              ("te", "trailers"), *extra]
    return b"".join(_literal(k, v) for k, v in fields)


def grpc_message(payload, declared=None):
    """A gRPC length-prefixed message; `declared` may claim more bytes."""
    length = len(payload) if declared is None else declared
    return struct.pack(">BI", 0, length) + payload


class Connection:
    """One HTTP/2 connection to 127.0.0.1:port. A reader thread answers
    SETTINGS and PING and records what the server sends."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.sock.settimeout(None)
        self.lock = threading.Lock()
        self.cv = threading.Condition()
        self.server_settings = {}
        self.resets = {}       # stream id -> error code
        self.data = {}         # stream id -> bytes received
        self.ended = set()     # streams the server ended
        self.goaway = False
        self.closed = False
        self.pongs = set()
        # Send windows (flow control): the connection's and each stream's
        # increments; a stream's window is the initial size plus these.
        self.connection_window = DEFAULT_WINDOW
        self.stream_credit = {}
        self.next_stream = 1
        self._send(PREFACE + frame(SETTINGS, 0, 0))
        threading.Thread(target=self._read, daemon=True).start()

    def _send(self, data):
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass

    def _read(self):
        buf = b""
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 9:
                    n = int.from_bytes(buf[:3], "big")
                    if len(buf) < 9 + n:
                        break
                    self._on_frame(buf[3], buf[4],
                                   int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF,
                                   buf[9:9 + n])
                    buf = buf[9 + n:]
        except OSError:
            pass
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def _on_frame(self, ftype, flags, stream, payload):
        if ftype == SETTINGS and not flags & ACK:
            settings = {}
            for i in range(0, len(payload) - 5, 6):
                key, value = struct.unpack(">HI", payload[i:i + 6])
                settings[key] = value
            self._send(frame(SETTINGS, ACK, 0))
            with self.cv:  # After the ACK went out: see settle().
                self.server_settings.update(settings)
                self.server_settings.setdefault(-1, 0)  # even when empty
        elif ftype == PING and not flags & ACK:
            self._send(frame(PING, ACK, 0, payload))
        with self.cv:
            if ftype == PING and flags & ACK:
                self.pongs.add(payload)
            if ftype == WINDOW_UPDATE:
                increment = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
                if stream == 0:
                    self.connection_window += increment
                else:
                    self.stream_credit[stream] = (
                        self.stream_credit.get(stream, 0) + increment)
            if ftype == RST_STREAM:
                self.resets[stream] = int.from_bytes(payload[:4], "big")
            elif ftype == GOAWAY:
                self.goaway = True
            elif ftype == DATA:
                self.data[stream] = self.data.get(stream, b"") + payload
            if ftype in (DATA, HEADERS) and flags & END_STREAM:
                self.ended.add(stream)
            self.cv.notify_all()

    def settle(self, timeout=10):
        """Waits until the server has our SETTINGS ACK: its SETTINGS came
        (and were acknowledged) and a PING sent after the ACK came back.
        gRPC applies its stream limit only to a client that acknowledged
        it, as HTTP/2 clients do."""
        if not self.wait(lambda c: c.server_settings or c.closed, timeout):
            return False
        token = struct.pack(">Q", self.next_stream)
        self._send(frame(PING, 0, 0, token))
        return self.wait(lambda c: token in c.pongs, timeout)

    def open_streams(self, count, path, body=b"", end_stream=False):
        """Opens `count` streams, each sending headers then `body`; returns
        their ids. Without end_stream they stay open: stalled."""
        out, ids = [], []
        for _ in range(count):
            sid = self.next_stream
            self.next_stream += 2
            ids.append(sid)
            out.append(frame(HEADERS, END_HEADERS, sid, grpc_headers(path)))
            out.append(frame(DATA, END_STREAM if end_stream else 0, sid, body))
        self._send(b"".join(out))
        return ids

    def call(self, path, body, headers=()):
        """Sends one complete unary request; returns its stream id."""
        sid = self.next_stream
        self.next_stream += 2
        self._send(frame(HEADERS, END_HEADERS, sid, grpc_headers(path, headers))
                   + frame(DATA, END_STREAM, sid, body))
        return sid

    def wait(self, condition, timeout):
        with self.cv:
            return self.cv.wait_for(lambda: condition(self), timeout)

    def send_partial_messages(self, stream_ids, size, timeout):
        """Sends on each open stream the first `size` bytes of a message
        (prefix included) as fast as flow control allows, never its end.
        Returns the bytes sent."""
        initial = self.server_settings.get(SETTINGS_INITIAL_WINDOW_SIZE,
                                           DEFAULT_WINDOW)
        sent = {sid: 0 for sid in stream_ids}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed:
            chunks = []
            with self.cv:
                for sid in stream_ids:
                    if sid in self.resets:
                        continue
                    window = (initial + self.stream_credit.get(sid, 0)
                              - sent[sid])
                    n = min(window, self.connection_window, 16384,
                            size - sent[sid])
                    if n > 0:
                        chunks.append(frame(DATA, 0, sid, b"\0" * n))
                        sent[sid] += n
                        self.connection_window -= n
                if not chunks:
                    if all(sent[s] >= size or s in self.resets
                           for s in stream_ids):
                        break
                    self.cv.wait(0.1)
                    continue
            self._send(b"".join(chunks))
        return sum(sent.values())

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
