"""What the stand-in binaries share: their flags, an HTTP server on a loopback port, a
TCP listener, a log of how each was called, and a clean exit on SIGTERM."""
import http.server
import json
import os
import signal
import socket
import sys
import threading
import urllib.parse


def flags(argv):
    """--name=value, --name value and bare --name (True) into a dict; repeated flags
    keep their last value, and "--worker-arg" every value (as a list)."""
    out, i = {"worker_arg": []}, 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--"):
            name, sep, value = a[2:].partition("=")
            if not sep:
                if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                    value, i = argv[i + 1], i + 1
                else:
                    value = True
            key = name.replace("-", "_")
            if key == "worker_arg":
                out[key].append(value)
            else:
                out[key] = value
        i += 1
    return out


def record(name):
    """Append this call (argv, POD_NAME) to $FAKE_CALLS, one JSON line each."""
    path = os.environ.get("FAKE_CALLS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"name": name, "argv": sys.argv[1:],
                                "pod": os.environ.get("POD_NAME")}) + "\n")


def serve_http(port, routes):
    """GET or POST path -> routes[path](params) -> (status, body) on 127.0.0.1:port, in a
    thread; params hold the query string's and a form body's fields."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, form=""):
            path, _, query = self.path.partition("?")
            params = dict(urllib.parse.parse_qsl(query))
            params.update(urllib.parse.parse_qsl(form))
            handler = routes.get(path)
            status, body = handler(params) if handler else (404, "not found\n")
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.answer()

        def do_POST(self):
            self.answer(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def listen_tcp(port):
    """Accept (and drop) TCP connections on 127.0.0.1:port, in a thread."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(16)

    def loop():
        while True:
            conn, _ = s.accept()
            conn.close()
    threading.Thread(target=loop, daemon=True).start()
    return s


def until_sigterm(on_term=None):
    """Block until SIGTERM (or SIGINT); run on_term, exit 0."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.1):
        pass
    if on_term:
        on_term()
    sys.exit(0)


def hpa_decisions(stats_text, target, cpu_request):
    """The stand-ins' HPA "decisions" from an HPA sample CSV (time_s,pod,cpu_millicores,
    ready): per sample time, the ready pods' utilization in percent of their request and
    ceil(utilization / target x pods). The fake local_serving writes them live and the
    fake kpa_model --class=hpa replays them, so that a replay given the same target and
    request (the replay rule's flags) is identical."""
    import csv
    import io
    import math
    by_time = {}
    for row in csv.DictReader(io.StringIO(stats_text)):
        if row["ready"] == "1":
            by_time.setdefault(float(row["time_s"]), []).append(float(row["cpu_millicores"]))
    lines = ["time_s,desired_pods,current_pods,utilization_percent"]
    for t, cpu in sorted(by_time.items()):
        util = math.floor(100 * sum(cpu) / (len(cpu) * cpu_request))
        lines.append(f"{t:g},{max(1, math.ceil(util * len(cpu) / target))},{len(cpu)},{util}")
    return "\n".join(lines) + "\n"
