"""Traces in local sweeps: which files each run's spans go to, and a small OTLP/HTTP
receiver for the pods' spans.

The drivers write their own spans (--trace-out, one file per run). The pods cannot: local
serving starts them with one command line for the whole sweep and they outlive runs, so a
--trace-out of theirs could name neither the run nor the pod (all pods would append to
one file). Instead every pod exports to this receiver (--otlp-endpoint), which writes each
export request it gets, as one line, to the file of the run in progress (the latest run
begun: a run's last spans arrive before the next run starts). What a collector would do
on a cluster; local serving's own spans can go to the same endpoint."""

import http.server
import json
import os
import threading
from typing import Dict, List

PATH = "/v1/traces"
LIBCURL = "libcurl.so.4"  # what the worker loads for --otlp-endpoint
MAX_BODY = 64 << 20  # an export request of 512 spans is well under 1 MiB


def traced(s) -> bool:
    """Tracing is on for this sweep (local mode, a rate above 0)."""
    return float(s.trace_sample_rate or 0) > 0


def run_files(s, name: str) -> Dict[str, str]:
    """The run's trace files in the sweep directory, by role (none when tracing is off)."""
    if not traced(s):
        return {}
    return {"traces": f"traces-{name}.jsonl", "pod_traces": f"traces-{name}-pods.jsonl"}


def driver_flags(s, trace_out: str) -> List[str]:
    """A driver's tracing flags: none when tracing is off."""
    if not traced(s) or not trace_out:
        return []
    return ["--trace-sample-rate", str(s.trace_sample_rate), "--trace-out", trace_out]


def concatenate(parts: List[str], out: str) -> None:
    """Several drivers' trace files as one (each line is a whole export request)."""
    with open(out, "wb") as dst:
        for part in parts:
            if os.path.isfile(part):
                with open(part, "rb") as src:
                    dst.write(src.read())


class Receiver:
    """OTLP/HTTP JSON receiver on 127.0.0.1; begin(path) picks the file it appends to."""

    def __init__(self, port: int):
        self.lock = threading.Lock()
        self.file = None
        self.received = self.rejected = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                receiver.handle(self)

            def log_message(self, *args):  # the sweep's log has no room for each POST
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{port}{PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def begin(self, path: str) -> None:
        """From now on, what arrives goes to path (appended)."""
        with self.lock:
            self._close()
            self.file = open(path, "ab")

    def handle(self, req: http.server.BaseHTTPRequestHandler) -> None:
        status, line = self._accept(req)
        if line is not None:
            with self.lock:
                if self.file is not None:
                    self.file.write(line)
                    self.file.flush()
                self.received += 1
        else:
            self.rejected += 1
        body = b"{}" if status == 200 else b'{"message":"not an OTLP/JSON export request"}'
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    @staticmethod
    def _accept(req) -> tuple:
        """(status, the line to write or None): a JSON object posted to /v1/traces."""
        if req.path != PATH:
            return 404, None
        try:
            n = int(req.headers.get("Content-Length", ""))
        except ValueError:
            return 411, None
        if not 0 < n <= MAX_BODY:
            return 413, None
        body = req.rfile.read(n)
        try:
            doc = json.loads(body)
        except ValueError:
            return 400, None
        if not isinstance(doc, dict):
            return 400, None
        return 200, json.dumps(doc, separators=(",", ":")).encode() + b"\n"

    def _close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            self._close()
