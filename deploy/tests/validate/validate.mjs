// Validates Kubernetes objects from YAML files:
//  1. against the real schemas shipped by kubernetes-models,
//     @kubernetes-models/knative and @kubernetes-models/prometheus-operator;
//  2. against Knative Serving rules the schemas do not encode (see rules.mjs).
// Usage: node validate.mjs FILE.yaml...   (exit 0 ok, 1 invalid, 2 usage)
// Every document must be a known kind: an object nothing can check is an error.
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { knativeServiceProblems, driverJobProblems, knativeTracingProblems } from "./rules.mjs";

const MODEL_PACKAGES = [
  "kubernetes-models",
  "@kubernetes-models/knative",
  "@kubernetes-models/prometheus-operator",
];

async function modelFor(apiVersion, kind) {
  // Module paths follow apiVersion: "v1" (core), "batch/v1", "serving.knative.dev/v1".
  const path = apiVersion;
  for (const pkg of MODEL_PACKAGES) {
    try {
      const mod = await import(`${pkg}/${path}/${kind}`);
      if (mod[kind]) return mod[kind];
    } catch (e) {
      if (e.code !== "ERR_MODULE_NOT_FOUND" && e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") {
        throw e;
      }
    }
  }
  return null;
}

function describe(obj) {
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
  return `${obj?.apiVersion} ${obj?.kind} ${ns}${obj?.metadata?.name}`;
}

export async function validateObject(obj) {
  const problems = [];
  if (!obj || typeof obj !== "object" || !obj.apiVersion || !obj.kind) {
    return ["not a Kubernetes object (apiVersion/kind missing)"];
  }
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  try {
    new Model(obj).validate();
  } catch (e) {
    problems.push(`schema: ${e.message}`);
  }
  if (!obj.metadata?.namespace) problems.push("metadata.namespace is not set");
  if (obj.apiVersion === "serving.knative.dev/v1" && obj.kind === "Service") {
    problems.push(...knativeServiceProblems(obj));
  }
  if (obj.apiVersion === "batch/v1" && obj.kind === "Job") {
    problems.push(...driverJobProblems(obj));
  }
  if (obj.apiVersion === "v1" && obj.kind === "ConfigMap" && obj.metadata?.namespace === "knative-serving") {
    problems.push(...knativeTracingProblems(obj));
  }
  return problems;
}

async function main(files) {
  if (files.length === 0 || files.includes("--help")) {
    console.log("usage: node validate.mjs FILE.yaml...\n" +
      "Validates every object against the kubernetes-models schemas and Knative rules.");
    process.exit(files.length === 0 ? 2 : 0);
  }
  let bad = 0;
  let count = 0;
  for (const file of files) {
    let docs;
    try {
      docs = parseAllDocuments(readFileSync(file, "utf8"));
    } catch (e) {
      console.error(`${file}: cannot read: ${e.message}`);
      bad++;
      continue;
    }
    for (const doc of docs) {
      if (doc.errors.length) {
        console.error(`${file}: YAML error: ${doc.errors[0].message}`);
        bad++;
        continue;
      }
      const obj = doc.toJS();
      if (obj === null || obj === undefined) continue;  // empty document
      count++;
      const problems = await validateObject(obj);
      if (problems.length) {
        bad++;
        for (const p of problems) console.error(`${file}: ${describe(obj)}: ${p}`);
      } else {
        console.log(`ok ${file}: ${describe(obj)}`);
      }
    }
  }
  if (count === 0) {
    console.error("no objects found");
    process.exit(1);
  }
  console.log(`${count} objects, ${bad} invalid`);
  process.exit(bad ? 1 : 0);
}

// Run as a program, not when imported (negative.mjs imports validateObject).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`validate.mjs: ${e.stack || e}`);
    process.exit(1);
  });
}
