"""Shared by the sweep's tests: the package on sys.path, and the stand-in binaries
(fakes/) that answer at the process boundary as the real ones do."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKES = os.path.join(HERE, "fakes")
sys.path.insert(0, os.path.join(ROOT, "tools"))


@pytest.fixture
def fake_env(tmp_path, monkeypatch):
    """PATH finds the stand-in prometheus first; calls are recorded in tmp_path/calls;
    temp dirs go under tmp_path (so that a test sees what was left behind)."""
    monkeypatch.setenv("PATH", FAKES + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("FAKE_CALLS", str(tmp_path / "calls"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def prometheus():
    """A stand-in Prometheus on a free loopback port (its URL): /-/ready, and any instant
    query answered with one sample scraped a minute from now."""
    import http.server
    import json
    import threading
    import time

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"ready" if self.path.startswith("/-/ready") else json.dumps(
                {"status": "success", "data": {"resultType": "vector", "result": [
                    {"metric": {}, "value": [time.time(), str(time.time() + 60)]}]}}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
