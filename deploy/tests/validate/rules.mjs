// Knative Serving rules that the OpenAPI schemas do not encode (the webhook
// enforces them at admission time), plus project rules for the driver Job.
// Each function returns a list of problems (empty = fine).

export const RESERVED_ENV = ["PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"];
export const RESERVED_PORTS = [8012, 8013, 8022, 9090, 9091];
const VISIBILITY = "networking.knative.dev/visibility";
const AS = "autoscaling.knative.dev/";
const KPA = "kpa.autoscaling.knative.dev";
const HPA = "hpa.autoscaling.knative.dev";
// Legacy camelCase spellings Knative still accepts but we do not write.
const LEGACY = {
  minScale: "min-scale",
  maxScale: "max-scale",
  initialScale: "initial-scale",
  scaleDownDelay: "scale-down-delay",
  panicWindowPercentage: "panic-window-percentage",
  panicThresholdPercentage: "panic-threshold-percentage",
  targetUtilizationPercentage: "target-utilization-percentage",
  targetBurstCapacity: "target-burst-capacity",
  activationScale: "activation-scale",
};

// Go duration ("60s", "1m30s", "500ms") -> seconds, or NaN.
export function parseGoDuration(s) {
  if (typeof s !== "string" || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return NaN;
  const unit = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += parseFloat(m[1]) * unit[m[2]];
  return total;
}

const isInt = (v) => /^-?\d+$/.test(v);
const isNum = (v) => /^-?\d+(\.\d+)?$/.test(v);

function numberIn(lo, hi, int = false) {
  return (v) => {
    if (!(int ? isInt(v) : isNum(v))) return `must be ${int ? "an integer" : "a number"}`;
    const n = parseFloat(v);
    if (n < lo || n > hi) return `must be in [${lo}, ${hi}]`;
    return null;
  };
}

function durationIn(lo, hi) {
  return (v) => {
    const d = parseGoDuration(v);
    if (Number.isNaN(d)) return "must be a duration such as 60s";
    if (d < lo || d > hi) return `must be between ${lo}s and ${hi}s`;
    return null;
  };
}

// Known keys (current spellings) and their value checks.
const ANNOTATION_CHECKS = {
  class: (v) => ([KPA, HPA].includes(v) ? null : `must be ${KPA} or ${HPA}`),
  metric: (v) => (["concurrency", "rps", "cpu", "memory"].includes(v) ? null : "unknown metric"),
  target: numberIn(0.01, 1e9),
  "target-utilization-percentage": numberIn(1, 100),
  window: durationIn(6, 3600),
  "panic-window-percentage": numberIn(1, 100),
  "panic-threshold-percentage": numberIn(110, 1000),
  "min-scale": numberIn(0, 1e6, true),
  "max-scale": numberIn(0, 1e6, true),
  "initial-scale": numberIn(0, 1e6, true),
  "activation-scale": numberIn(1, 1e6, true),
  "scale-down-delay": durationIn(0, 3600),
  "target-burst-capacity": (v) =>
    isNum(v) && (parseFloat(v) === -1 || parseFloat(v) >= 0) ? null : "must be -1 or >= 0",
  "scale-to-zero-pod-retention-period": durationIn(0, 3600),
};

function autoscalingProblems(annotations, where) {
  const problems = [];
  const a = {};
  for (const [k, v] of Object.entries(annotations || {})) {
    if (!k.startsWith(AS)) continue;
    const key = k.slice(AS.length);
    if (LEGACY[key]) {
      problems.push(`${where}: ${k} is a legacy spelling, use ${AS}${LEGACY[key]}`);
      continue;
    }
    const check = ANNOTATION_CHECKS[key];
    if (!check) {
      problems.push(`${where}: unknown annotation ${k}`);
      continue;
    }
    if (typeof v !== "string") {
      problems.push(`${where}: ${k} must be a string`);
      continue;
    }
    const err = check(v);
    if (err) problems.push(`${where}: ${k}=${v} ${err}`);
    a[key] = v;
  }
  const cls = a.class || KPA;
  if (a.metric) {
    const allowed = cls === HPA ? ["cpu", "memory"] : ["concurrency", "rps"];
    if (!allowed.includes(a.metric)) {
      problems.push(`${where}: metric ${a.metric} is not valid for class ${cls} (${allowed.join(", ")})`);
    }
  }
  if (cls === HPA && (a["min-scale"] === undefined || parseInt(a["min-scale"], 10) < 1)) {
    problems.push(`${where}: class ${HPA} cannot scale to zero; set min-scale >= 1`);
  }
  const min = parseInt(a["min-scale"] ?? "0", 10);
  const max = parseInt(a["max-scale"] ?? "0", 10);
  if (max > 0 && min > max) problems.push(`${where}: min-scale ${min} > max-scale ${max}`);
  return problems;
}

function probePort(probe) {
  return probe?.grpc?.port ?? probe?.httpGet?.port ?? probe?.tcpSocket?.port;
}

export function knativeServiceProblems(svc) {
  const problems = [];
  const meta = svc.metadata || {};
  const tmeta = svc.spec?.template?.metadata || {};
  const podSpec = svc.spec?.template?.spec || {};
  const containers = podSpec.containers || [];

  // Visibility: a label on the Service; as an annotation it is silently ignored.
  for (const [m, where] of [[meta, "metadata"], [tmeta, "spec.template.metadata"]]) {
    if (m.annotations && VISIBILITY in m.annotations) {
      problems.push(`${where}.annotations: ${VISIBILITY} must be a label on the Service, not an annotation`);
    }
  }
  if (tmeta.labels && VISIBILITY in tmeta.labels) {
    problems.push(`spec.template.metadata.labels: ${VISIBILITY} belongs on the Service's own labels`);
  }
  const vis = meta.labels?.[VISIBILITY];
  if (vis === undefined) {
    problems.push(`metadata.labels: ${VISIBILITY}: cluster-local is required (the worker must not be public)`);
  } else if (vis !== "cluster-local") {
    problems.push(`metadata.labels: ${VISIBILITY}=${vis} (only cluster-local is valid)`);
  }

  // Autoscaling annotations only take effect on the revision template.
  for (const k of Object.keys(meta.annotations || {})) {
    if (k.startsWith(AS)) problems.push(`metadata.annotations: ${k} has no effect here; put it on spec.template.metadata`);
  }
  problems.push(...autoscalingProblems(tmeta.annotations, "spec.template.metadata.annotations"));

  // Ports: exactly one across all containers, named h2c (gRPC), not reserved.
  const ports = containers.flatMap((c) => (c.ports || []).map((p) => ({ c, p })));
  if (ports.length !== 1) {
    problems.push(`exactly one container port is allowed, found ${ports.length}`);
  }
  for (const { c, p } of ports) {
    if (p.name !== "h2c") problems.push(`container ${c.name}: port ${p.containerPort} must be named h2c (gRPC), got ${p.name}`);
    if (RESERVED_PORTS.includes(p.containerPort)) {
      problems.push(`container ${c.name}: port ${p.containerPort} is reserved by Knative`);
    }
  }
  for (const c of containers) {
    for (const e of c.env || []) {
      if (RESERVED_ENV.includes(e.name)) problems.push(`container ${c.name}: env ${e.name} is reserved by Knative`);
      if (/^\d+$/.test(String(e.value ?? "")) && RESERVED_PORTS.includes(parseInt(e.value, 10)) && /PORT/.test(e.name)) {
        problems.push(`container ${c.name}: env ${e.name}=${e.value} uses a port reserved by Knative`);
      }
    }
    for (const kind of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      const probe = c[kind];
      if (!probe) continue;
      const types = ["grpc", "httpGet", "tcpSocket", "exec"].filter((t) => probe[t]);
      if (types.length !== 1) problems.push(`container ${c.name}: ${kind} needs exactly one of grpc, httpGet, tcpSocket, exec`);
      const port = probePort(probe);
      const own = (c.ports || [])[0];
      if (port !== undefined && own && port !== own.containerPort && port !== own.name) {
        problems.push(`container ${c.name}: ${kind} port ${port} is not the container port ${own.containerPort}`);
      }
    }
  }
  // Pod-level securityContext is behind a Knative feature flag; keep it per container.
  if (podSpec.securityContext && Object.keys(podSpec.securityContext).length) {
    problems.push("spec.template.spec.securityContext needs Knative's kubernetes.podspec-securitycontext flag; set it per container");
  }
  return problems;
}

// The driver must be fetchable after its run: the pod proxy port (2113) must be
// the declared metrics port and the one --metrics-port sets.
export function driverJobProblems(job) {
  const problems = [];
  const containers = job.spec?.template?.spec?.containers || [];
  for (const c of containers) {
    if (!/load-driver/.test(c.image || "")) continue;
    const args = c.args || [];
    const flag = args.find((a) => a.startsWith("--metrics-port="));
    const metricsPort = flag ? parseInt(flag.split("=")[1], 10) : 2113;
    const declared = (c.ports || []).find((p) => p.name === "metrics");
    if (!declared) problems.push(`container ${c.name}: no container port named metrics (the PodMonitor scrapes it)`);
    else if (declared.containerPort !== metricsPort) {
      problems.push(`container ${c.name}: port metrics=${declared.containerPort} but --metrics-port=${metricsPort}`);
    }
    if (metricsPort !== 2113) problems.push(`container ${c.name}: results are fetched from port 2113, --metrics-port=${metricsPort}`);
    const out = args.find((a) => a.startsWith("--out="));
    const mounts = (c.volumeMounts || []).map((m) => m.mountPath);
    if (!out) problems.push(`container ${c.name}: no --out`);
    else if (!mounts.some((m) => out.slice(6).startsWith(`${m}/`))) {
      problems.push(`container ${c.name}: --out ${out.slice(6)} is not on a mounted volume (root filesystem is read-only)`);
    }
    if (!args.some((a) => /^--linger=/.test(a))) {
      problems.push(`container ${c.name}: no --linger: the results vanish with the container before they can be fetched`);
    }
  }
  if (job.spec?.template?.spec?.restartPolicy !== "Never") problems.push("restartPolicy must be Never (a restart starts a new run)");
  if (job.spec?.backoffLimit !== 0) problems.push("backoffLimit must be 0 (a retry starts a new run)");
  return problems;
}

// Knative's tracing ConfigMaps (knative-serving), as Knative parses them:
// config-observability (>= 1.19, knative.dev/pkg/observability/tracing) and
// config-tracing (<= 1.18, OpenCensus with a Zipkin exporter).
const OTEL_PROTOCOLS = ["none", "grpc", "http/protobuf", "stdout"];
const isUrl = (v) => /^https?:\/\/[^/:]+(:\d+)?(\/|$)/.test(v ?? "");
const rateIn = numberIn(0, 1);

export function knativeTracingProblems(cm) {
  const d = cm.data || {};
  const problems = [];
  const rate = (key) => {
    if (d[key] === undefined) return;
    const err = rateIn(String(d[key]));
    if (err) problems.push(`data.${key}=${d[key]} ${err}`);
  };
  if (cm.metadata?.name === "config-observability") {
    const protocol = d["tracing-protocol"] ?? "none";
    if (!OTEL_PROTOCOLS.includes(protocol)) {
      problems.push(`data.tracing-protocol=${protocol} must be one of ${OTEL_PROTOCOLS.join(", ")}`);
    }
    const exports = ["grpc", "http/protobuf"].includes(protocol);
    if (exports && !isUrl(d["tracing-endpoint"])) {
      problems.push(`data.tracing-endpoint must be an http(s) URL with tracing-protocol ${protocol}`);
    }
    if (!exports && d["tracing-endpoint"] !== undefined) {
      problems.push(`data.tracing-endpoint must not be set with tracing-protocol ${protocol}`);
    }
    rate("tracing-sampling-rate");
    // Knative >= 1.19 turns rate 0 into NeverSample: even a caller's sampled
    // trace would lose the activator and queue-proxy spans.
    if (exports && Number(d["tracing-sampling-rate"] ?? 0) <= 0) {
      problems.push("data.tracing-sampling-rate must be above 0 (Knative never samples at 0)");
    }
  }
  if (cm.metadata?.name === "config-tracing") {
    const backend = d.backend ?? "none";
    if (!["zipkin", "none"].includes(backend)) problems.push(`data.backend=${backend} must be zipkin or none`);
    // OpenCensus's Zipkin exporter posts to the Zipkin v2 API, not to OTLP.
    if (backend === "zipkin" && !(isUrl(d["zipkin-endpoint"]) && d["zipkin-endpoint"].endsWith("/api/v2/spans"))) {
      problems.push("data.zipkin-endpoint must be an http(s) URL ending in /api/v2/spans with backend zipkin");
    }
    rate("sample-rate");
  }
  return problems;
}
