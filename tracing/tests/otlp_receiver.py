"""A small OTLP/HTTP receiver for the tests: accepts POST /v1/traces with
Content-Type application/json, checks that each body is a valid OTLP/JSON
ExportTraceServiceRequest (lowercase hex ids of the right length, 64-bit
times as decimal strings, a resource with service.name, known span kinds and
status codes) and keeps every span with its resource's service.name.

Anything it finds wrong goes to `problems` (and the POST gets 400), so a
test asserts `receiver.problems == []` besides what it expects of the spans.
"""
import http.server
import json
import re
import threading

HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")
DIGITS = re.compile(r"[0-9]+")
VALUE_KINDS = {"stringValue", "intValue", "doubleValue", "boolValue"}


def attributes_problems(where, attributes):
    problems = []
    if not isinstance(attributes, list):
        return [f"{where}: attributes is not a list"]
    for a in attributes:
        value = a.get("value", {})
        if not isinstance(a.get("key"), str) or len(value) != 1 or \
                next(iter(value)) not in VALUE_KINDS:
            problems.append(f"{where}: bad attribute {a}")
        elif "intValue" in value and not DIGITS.fullmatch(
                str(value["intValue"]).lstrip("-")):
            problems.append(f"{where}: intValue {value} is not a decimal string")
    return problems


def span_problems(span):
    where = f"span {span.get('name')!r}"
    problems = []
    if not HEX32.fullmatch(span.get("traceId", "")) or set(span["traceId"]) == {"0"}:
        problems.append(f"{where}: traceId {span.get('traceId')!r}")
    if not HEX16.fullmatch(span.get("spanId", "")) or set(span["spanId"]) == {"0"}:
        problems.append(f"{where}: spanId {span.get('spanId')!r}")
    if "parentSpanId" in span and not HEX16.fullmatch(span["parentSpanId"]):
        problems.append(f"{where}: parentSpanId {span['parentSpanId']!r}")
    for key in ("startTimeUnixNano", "endTimeUnixNano"):
        if not isinstance(span.get(key), str) or not DIGITS.fullmatch(span[key]):
            problems.append(f"{where}: {key} {span.get(key)!r} is not a decimal string")
    if span.get("kind") not in (1, 2, 3, 4, 5):
        problems.append(f"{where}: kind {span.get('kind')!r}")
    if span.get("status", {}).get("code") not in (0, 1, 2):
        problems.append(f"{where}: status {span.get('status')!r}")
    problems += attributes_problems(where, span.get("attributes", []))
    return problems


def request_problems(request):
    """What is wrong with one decoded ExportTraceServiceRequest."""
    problems = []
    for rs in request.get("resourceSpans", None) or [None]:
        if rs is None:
            return ["no resourceSpans"]
        attrs = rs.get("resource", {}).get("attributes", [])
        problems += attributes_problems("resource", attrs)
        names = [a["value"].get("stringValue") for a in attrs
                 if a.get("key") == "service.name"]
        if len(names) != 1 or not names[0]:
            problems.append(f"resource without one service.name: {attrs}")
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                problems += span_problems(span)
    return problems


def attribute(span, key):
    """The value of a span's attribute KEY (whatever its kind), else None."""
    for a in span.get("attributes", []):
        if a["key"] == key:
            return next(iter(a["value"].values()))
    return None


def spans_of(request):
    """(service.name, span) for each span of a request."""
    for rs in request["resourceSpans"]:
        attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
        service = attrs["service.name"]["stringValue"]
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                yield service, span


class Receiver:
    """An OTLP/HTTP collector on 127.0.0.1 (a free port), in a thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.spans = []      # (service.name, span)
        self.problems = []
        self.requests = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                problems = []
                if self.path != "/v1/traces":
                    problems.append(f"POST to {self.path}")
                if self.headers.get("Content-Type") != "application/json":
                    problems.append(f"Content-Type {self.headers.get('Content-Type')}")
                try:
                    request = json.loads(body)
                    problems += request_problems(request)
                except ValueError as e:
                    problems.append(f"not JSON: {e}")
                with receiver.lock:
                    receiver.requests += 1
                    receiver.problems += problems
                    if not problems:
                        receiver.spans += list(spans_of(request))
                self.send_response(400 if problems else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self):
        with self.lock:
            return list(self.spans), list(self.problems)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
