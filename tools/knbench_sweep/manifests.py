"""The cluster sweep's driver Jobs: `kubectl kustomize` of deploy/sweep or
deploy/sweep-parallel (which sets the image), then every {{KEY}} placeholder filled in
the parsed YAML. A string that is exactly "{{KEY}}" becomes an integer when its value is
one (so integer fields such as completions can hold a placeholder in a file that is
valid YAML); anywhere else the value replaces the placeholder in the text. Values are
names, numbers and durations ([A-Za-z0-9._-]), and no placeholder may be left.

As a command: python3 -m knbench_sweep.manifests [--kubectl CMD] KUSTOMIZE_DIR OUT
KEY=VALUE... (deploy/tests/render.py renders the templates with it)."""

import argparse
import re
import shlex
import sys
from typing import Any, Dict, List, Sequence

import yaml

from .kube import Kubectl

PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
VALUE = re.compile(r"[A-Za-z0-9._-]+")


class RenderError(Exception):
    pass


def parse_values(pairs: Sequence[str]) -> Dict[str, str]:
    """KEY=VALUE arguments; RenderError on a bad key or value."""
    values = {}
    for kv in pairs:
        key, sep, value = kv.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_]+", key):
            raise RenderError(f"bad argument '{kv}' (want KEY=VALUE)")
        if not VALUE.fullmatch(value):
            raise RenderError(f"value of {key} must match [A-Za-z0-9._-]+, got '{value}'")
        values[key] = value
    return values


def fill(node: Any, values: Dict[str, str]) -> Any:
    """The YAML tree with its placeholders filled."""
    if isinstance(node, dict):  # a key stays text
        return {_text(k, values) if isinstance(k, str) else k: fill(v, values)
                for k, v in node.items()}
    if isinstance(node, list):
        return [fill(v, values) for v in node]
    if isinstance(node, str):
        whole = PLACEHOLDER.fullmatch(node)
        if whole and whole.group(1) in values and re.fullmatch(r"[0-9]+", values[whole.group(1)]):
            return int(values[whole.group(1)])
        return _text(node, values)
    return node


def _text(s: str, values: Dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), s)


def leftovers(node: Any) -> List[str]:
    """Placeholders still in the tree."""
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in leftovers(k) + leftovers(v)]
    if isinstance(node, list):
        return [p for v in node for p in leftovers(v)]
    return PLACEHOLDER.findall(node) if isinstance(node, str) else []


def kustomize(kubectl: Kubectl, kustomize_dir: str) -> str:
    """`kubectl kustomize DIR`'s YAML; RenderError when it fails."""
    r = kubectl.run("kustomize", kustomize_dir)
    if r.returncode != 0:
        raise RenderError(f"kubectl kustomize {kustomize_dir} failed: "
                          f"{(r.stderr or r.stdout).strip()}")
    return r.stdout


def render(kubectl: Kubectl, kustomize_dir: str, values: Dict[str, str]) -> str:
    """The filled YAML; RenderError when kustomize fails or placeholders are left."""
    docs = [fill(d, values) for d in yaml.safe_load_all(kustomize(kubectl, kustomize_dir))
            if d is not None]
    left = sorted(set(p for d in docs for p in leftovers(d)))
    if left:
        raise RenderError("placeholders left unfilled: " + " ".join(f"{{{{{p}}}}}" for p in left))
    return yaml.safe_dump_all(docs, sort_keys=False, width=4096)


def render_file(kubectl: Kubectl, kustomize_dir: str, out: str, pairs: Sequence[str]) -> None:
    text = render(kubectl, kustomize_dir, parse_values(pairs))
    with open(out, "w") as f:
        f.write(text)


def write_knative_service(kubectl: Kubectl, kustomize_dir: str, out: str) -> None:
    """The Knative Service document of `kubectl kustomize kustomize_dir`, alone, into
    `out` (what local serving's --from-manifest reads); RenderError when there is none."""
    text = kustomize(kubectl, kustomize_dir)
    try:
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError as e:
        raise RenderError(f"kubectl kustomize {kustomize_dir} printed no YAML: {e}")
    ksvc = [d for d in docs if d.get("kind") == "Service"
            and str(d.get("apiVersion", "")).startswith("serving.knative.dev/")]
    if len(ksvc) != 1:
        raise RenderError(f"kubectl kustomize {kustomize_dir} rendered {len(ksvc)} Knative "
                          "Services, not one")
    with open(out, "w") as f:
        f.write(f"# kubectl kustomize {kustomize_dir}: its Knative Service\n")
        yaml.safe_dump(ksvc[0], f, sort_keys=False)


def main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m knbench_sweep.manifests",
                                 description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubectl", default="kubectl", help="the kubectl command")
    ap.add_argument("dir")
    ap.add_argument("out")
    ap.add_argument("values", nargs="*", metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    try:
        render_file(Kubectl(shlex.split(a.kubectl)), a.dir, a.out, a.values)
    except (RenderError, OSError, yaml.YAMLError) as e:
        print(f"manifests: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
