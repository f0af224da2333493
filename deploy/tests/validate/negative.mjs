// Proves the validator can fail: takes the valid worker Service and driver Job
// from rendered manifests, breaks one thing at a time, and requires the
// expected problem for each.
// Usage: node negative.mjs RENDERED_BASE.yaml RENDERED_DRIVER.yaml RENDERED_TRACING_KNATIVE.yaml
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { validateObject } from "./validate.mjs";

const load = (f) => parseAllDocuments(readFileSync(f, "utf8")).map((d) => d.toJS()).filter(Boolean);
const [baseFile, driverFile, tracingFile] = process.argv.slice(2);
if (!baseFile || !driverFile || !tracingFile) {
  console.error("usage: node negative.mjs RENDERED_BASE.yaml RENDERED_DRIVER.yaml RENDERED_TRACING_KNATIVE.yaml");
  process.exit(2);
}
const ksvc = load(baseFile).find((o) => o.kind === "Service" && o.apiVersion === "serving.knative.dev/v1");
const job = load(driverFile).find((o) => o.kind === "Job");
const sm = load(baseFile).find((o) => o.kind === "ServiceMonitor");
const otel = load(tracingFile).find((o) => o.metadata.name === "config-observability");
const oc = load(tracingFile).find((o) => o.metadata.name === "config-tracing");
const c0 = (o) => o.spec.template.spec.containers[0];
const ann = (o) => o.spec.template.metadata.annotations;

const cases = [
  ["schema: port as string", ksvc, (o) => { c0(o).ports[0].containerPort = "50051"; }, "must be integer"],
  ["schema: servicemonitor endpoints not a list", sm, (o) => { o.spec.endpoints = { port: "metrics" }; }, "must be array"],
  ["visibility as annotation", ksvc, (o) => {
    delete o.metadata.labels["networking.knative.dev/visibility"];
    o.metadata.annotations = { "networking.knative.dev/visibility": "cluster-local" };
  }, "must be a label on the Service"],
  ["second port", ksvc, (o) => { c0(o).ports.push({ name: "metrics", containerPort: 2112 }); }, "exactly one container port"],
  ["port not h2c", ksvc, (o) => { c0(o).ports[0].name = "grpc"; }, "must be named h2c"],
  ["reserved port", ksvc, (o) => { c0(o).ports[0].containerPort = 8012; c0(o).readinessProbe.grpc.port = 8012; }, "reserved by Knative"],
  ["reserved env", ksvc, (o) => { c0(o).env.push({ name: "PORT", value: "50051" }); }, "env PORT is reserved"],
  ["legacy annotation", ksvc, (o) => { ann(o)["autoscaling.knative.dev/minScale"] = "0"; }, "legacy spelling"],
  ["unknown annotation", ksvc, (o) => { ann(o)["autoscaling.knative.dev/targt"] = "10"; }, "unknown annotation"],
  ["target out of range", ksvc, (o) => { ann(o)["autoscaling.knative.dev/target"] = "0"; }, "must be in"],
  ["rps metric on hpa", ksvc, (o) => { ann(o)["autoscaling.knative.dev/class"] = "hpa.autoscaling.knative.dev"; }, "not valid for class"],
  ["min above max", ksvc, (o) => { ann(o)["autoscaling.knative.dev/min-scale"] = "5"; }, "min-scale 5 > max-scale 3"],
  ["bad window", ksvc, (o) => { ann(o)["autoscaling.knative.dev/window"] = "2s"; }, "must be between"],
  ["probe on another port", ksvc, (o) => { c0(o).readinessProbe.grpc.port = 2112; }, "is not the container port"],
  ["driver without linger", job, (o) => { c0(o).args = c0(o).args.filter((a) => !a.startsWith("--linger")); }, "no --linger"],
  ["driver out on read-only root", job, (o) => { c0(o).args = c0(o).args.map((a) => (a.startsWith("--out=") ? "--out=/tmp/r.csv" : a)); }, "not on a mounted volume"],
  ["driver retries", job, (o) => { o.spec.backoffLimit = 3; }, "backoffLimit must be 0"],
  ["otel protocol unknown", otel, (o) => { o.data["tracing-protocol"] = "otlp"; }, "must be one of"],
  ["otel endpoint missing", otel, (o) => { delete o.data["tracing-endpoint"]; }, "must be an http(s) URL"],
  ["otel rate 0", otel, (o) => { o.data["tracing-sampling-rate"] = "0"; }, "must be above 0"],
  ["otel rate above 1", otel, (o) => { o.data["tracing-sampling-rate"] = "1.5"; }, "must be in [0, 1]"],
  ["zipkin backend unknown", oc, (o) => { o.data.backend = "jaeger"; }, "must be zipkin or none"],
  ["zipkin endpoint is OTLP", oc, (o) => { o.data["zipkin-endpoint"] = "http://c:4318/v1/traces"; }, "ending in /api/v2/spans"],
];

let failed = 0;
for (const [name, original, mutate, expected] of cases) {
  if (!original) { console.error(`FAIL ${name}: object missing from input`); failed++; continue; }
  const obj = structuredClone(original);
  mutate(obj);
  const problems = await validateObject(obj);
  if (problems.some((p) => p.includes(expected))) {
    console.log(`ok ${name}: ${problems.find((p) => p.includes(expected))}`);
  } else {
    console.error(`FAIL ${name}: expected a problem containing "${expected}", got ${JSON.stringify(problems)}`);
    failed++;
  }
}
// The unmodified objects must pass, or the cases above prove nothing.
for (const o of [ksvc, job, sm, otel, oc]) {
  const p = await validateObject(o);
  if (p.length) { console.error(`FAIL baseline ${o.kind}: ${p.join("; ")}`); failed++; }
}
console.log(`${cases.length} negative cases, ${failed} failed`);
process.exit(failed ? 1 : 0);
