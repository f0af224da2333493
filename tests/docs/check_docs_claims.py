#!/usr/bin/python3
"""Claims the docs once got wrong stay right (issue item 22).

Each check guards one claim that was fixed because the docs disagreed with
the programs; each fails with one line per violation if the old text returns.

  poisson     With CLUSTER_DRIVER_PODS above 1 the cluster sweep runs an
              Indexed Job whose driver pods use Poisson arrivals (seeded by
              the pod index), not the uniform schedule a single driver uses.
              `scripts/run_experiments.sh --help` and docs/experiments.md
              must both say so: CLUSTER_DRIVER_PODS and "Poisson" within a
              few lines of each other.
  knee        docs/experiments.md and README.md once said the default
              sweep's 200 rps points saturate the worker with
              RESOURCE_EXHAUSTED, "the knee the sweep is meant to show"; with
              wall-clock spin that does not happen. A paragraph of either
              page that has the word "knee" together with RESOURCE_EXHAUSTED
              and "200 rps" fails (either word alone is fine).
  csv-names   The results-<rps>rps-<spin>ms.csv files that kpa_model's
              examples cite (docs/kpa_model.md, README.md, kpa_model's usage
              text in autoscaler_model/src/kpa_model_main.cc) must follow the
              sweep's naming (taken from run_experiments.sh --help) and be
              files the quick start or the default sweep makes. The grid
              comes from `run_experiments.sh --dry-run` (on the stand-in binaries),
              run with no options and with the options scripts/quickstart.sh
              passes, so a change of grid is caught.
  outside     No document cites a file outside the repository: no
              `../shared/`, no `SPEC §` or `SPEC.md`, in any tracked *.md
              file or in the --help of a user script (scripts/*.sh,
              tools/*.py, bench/run.sh, fuzz/run.sh).
  grpc-probe  The worker's `grpc` readiness probe needs Knative Serving
              >= 1.11 on Kubernetes >= 1.24: docs/deploy.md says so where it
              describes the probe, and a comment next to the probe in
              deploy/base/worker/knative-service.yaml does too.
  limits      The documented input limits are the code's: the trace file's
              size, line length and number of rates (docs/load_driver.md,
              load_driver's schedule.h), the worker's request size, gRPC
              message size and memory quota (README.md, the worker's
              headers), the metrics port's connections in all and from
              one client address (README.md, docs/load_driver.md,
              HttpServerOptions), and local_serving's router's message
              size, message budget, response size, streams per
              connection and message timeout (docs/local_serving.md,
              router.h). A limit changed in one place only fails.

Runs scripts with --help and --dry-run only (no build needed: --dry-run runs on
tests/scripts/fakes, about 1 s).

Usage: check_docs_claims.py [--root DIR] [--only CHECK ...]
Exit: 0 every claim holds, 1 violations (one line each), 2 bad usage or a
script that cannot be run.
"""
import argparse
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Unusable(Exception):
    """A script could not be run or parsed: exit 2, not a doc violation."""


def stand_in_build(cwd, fakes):
    """A build directory in cwd whose binaries are the sweep tests' stand-ins; beside it,
    the stand-in prometheus."""
    build = os.path.join(cwd, "bin", "build")
    for binary in ("worker/worker", "load_driver/load_driver", "local_serving/local_serving"):
        os.makedirs(os.path.join(build, os.path.dirname(binary)), exist_ok=True)
        os.symlink(os.path.join(fakes, os.path.basename(binary)), os.path.join(build, binary))
    os.symlink(os.path.join(fakes, "prometheus"), os.path.join(cwd, "bin", "prometheus"))
    return build


class Repo:
    def __init__(self, root):
        self.root = root

    def path(self, rel):
        return os.path.join(self.root, rel)

    def read(self, rel):
        try:
            with open(self.path(rel), encoding="utf-8") as f:
                return f.read()
        except OSError as e:
            raise Unusable(f"cannot read {rel}: {e.strerror}")

    def run(self, rel, *args, env=None):
        command = [self.path(rel), *args]
        if rel.endswith(".py"):
            command.insert(0, "/usr/bin/python3")
        with tempfile.TemporaryDirectory() as cwd:
            full_env = {k: v for k, v in os.environ.items()
                        if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
            # No build needed: the stand-in binaries, which --dry-run (like a sweep)
            # requires, and the stand-in Prometheus last on PATH.
            fakes = self.path("tests/scripts/fakes")
            full_env["BUILD_DIR"] = stand_in_build(cwd, fakes)
            full_env["PATH"] = full_env.get("PATH", "/usr/bin:/bin") + os.pathsep + \
                os.path.dirname(full_env["BUILD_DIR"])
            full_env.update(env or {})
            try:
                r = subprocess.run(command, capture_output=True, text=True,
                                   timeout=30, cwd=cwd, env=full_env)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise Unusable(f"{rel} {' '.join(args)}: {e}")
        if r.returncode != 0:
            raise Unusable(f"{rel} {' '.join(args)} exited {r.returncode}: "
                           f"{(r.stderr.strip().splitlines() or [''])[-1]}")
        return r.stdout + r.stderr

    def tracked_markdown(self):
        r = subprocess.run(["git", "-C", self.root, "ls-files", "*.md"],
                           capture_output=True, text=True)
        if r.returncode == 0 and os.path.isdir(self.path(".git")):
            return sorted(r.stdout.split())
        found = []  # not a git checkout (e.g. a scratch copy): walk it,
        for d, dirs, files in os.walk(self.root):  # without builds and results
            top = d == self.root
            dirs[:] = [x for x in dirs if not x.startswith(".")
                       and not (top and x.startswith(("build", "results")))]
            found += [os.path.relpath(os.path.join(d, f), self.root)
                      for f in files if f.endswith(".md")]
        return sorted(found)


def flat(text):
    """Text without Markdown bold and code marks, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"[*`]", "", text))


def paragraphs(text):
    """Blank-line separated blocks, list items split apart."""
    return [p for p in re.split(r"\n\s*\n|\n(?=\s*[-*] )", text) if p.strip()]


def near(text, a, b, distance):
    """a and b (regexes) within `distance` characters of each other."""
    t = flat(text)
    for m in re.finditer(a, t, re.I):
        window = t[max(0, m.start() - distance):m.end() + distance]
        if re.search(b, window, re.I):
            return True
    return False


# --- poisson -----------------------------------------------------------------
def check_poisson(repo):
    sources = {
        "scripts/run_experiments.sh --help": repo.run("scripts/run_experiments.sh", "--help"),
        "docs/experiments.md": repo.read("docs/experiments.md"),
    }
    for name, text in sources.items():
        if not near(text, r"CLUSTER_DRIVER_PODS", r"Poisson", 300):
            yield (f"poisson: {name} does not say that CLUSTER_DRIVER_PODS>1 gives "
                   f"the cluster drivers Poisson arrivals")


# --- knee --------------------------------------------------------------------
def check_knee(repo):
    for doc in ("docs/experiments.md", "README.md"):
        for p in paragraphs(repo.read(doc)):
            t = flat(p)
            if (re.search(r"\bknee", t, re.I) and "RESOURCE_EXHAUSTED" in t.upper()
                    and re.search(r"\b200 ?rps\b", t, re.I)):
                yield (f"knee: {doc} claims a knee (RESOURCE_EXHAUSTED at 200 rps), "
                       f"which wall-clock spin does not show: {t[:90]}...")


# --- csv-names ---------------------------------------------------------------
CITERS = ["docs/kpa_model.md", "README.md", "autoscaler_model/src/kpa_model_main.cc"]


def naming_pattern(help_text):
    """The results CSV's name as run_experiments.sh --help gives it, as a regex."""
    m = re.search(r"\bresults-<rps>rps-<spin>ms\.csv\b", help_text)
    if not m:
        raise Unusable("run_experiments.sh --help no longer names its "
                       "results-<rps>rps-<spin>ms.csv files; update check_docs_claims.py")
    return re.compile(re.escape(m.group(0))
                      .replace("<rps>", r"(\d+)").replace("<spin>", r"(\d+)") + "$")


def quickstart_args(repo):
    """The options scripts/quickstart.sh passes to run_experiments.sh."""
    line = next((l for l in repo.read("scripts/quickstart.sh").splitlines()
                 if re.match(r"\s*exec\b.*run_experiments\.sh", l)), None)
    if line is None:
        raise Unusable("scripts/quickstart.sh does not exec run_experiments.sh; "
                       "update check_docs_claims.py")
    words = shlex.split(line)
    args = []
    for w in words[next(i for i, w in enumerate(words) if w.endswith("run_experiments.sh")) + 1:]:
        if w == "$@":
            continue
        if w == "$build_dir" and args[-1:] == ["--build-dir"]:
            args.pop()  # the stand-ins' build dir (Repo.run) instead
            continue
        if "$" in w:
            raise Unusable(f"scripts/quickstart.sh passes {w!r}; update check_docs_claims.py")
        args.append(w)
    return args


def sweep_files(repo, args):
    """results-*.csv names a `run_experiments.sh ARGS --dry-run` plan makes."""
    out = repo.run("scripts/run_experiments.sh", *args, "--dry-run")
    stems = re.findall(r"^plan \d+/\d+ .*\bfiles=\*-(\S+)\.\*$", out, re.M)
    if not stems:
        raise Unusable(f"run_experiments.sh {' '.join(args)} --dry-run lists no "
                       f"'plan ... files=' lines; update check_docs_claims.py")
    return {f"results-{s}.csv" for s in stems}


def check_csv_names(repo):
    pattern = naming_pattern(repo.run("scripts/run_experiments.sh", "--help"))
    grid = sweep_files(repo, []) | sweep_files(repo, quickstart_args(repo))
    for doc in CITERS:
        for name in sorted(set(re.findall(r"\bresults-[^\s`'\"/)\\]*?\.csv", repo.read(doc)))):
            if "<" in name:
                continue  # a placeholder such as results-<rps>rps-<spin>ms.csv
            if not pattern.match(name):
                yield (f"csv-names: {doc} cites {name}, which is not named like "
                       f"the sweep's results-<rps>rps-<spin>ms.csv")
            elif name not in grid:
                yield (f"csv-names: {doc} cites {name}, which neither the quick start "
                       f"nor the default sweep makes ({', '.join(sorted(grid))})")


# --- outside -----------------------------------------------------------------
OUTSIDE = re.compile(r"\.\./shared/|\bSPEC\s*§|\bSPEC\.md\b")
USER_SCRIPTS = ["scripts/*.sh", "tools/*.py", "bench/run.sh", "fuzz/run.sh"]


def check_outside(repo):
    for doc in repo.tracked_markdown():
        for n, line in enumerate(repo.read(doc).splitlines(), 1):
            for m in OUTSIDE.finditer(line):
                yield f"outside: {doc}:{n} cites '{m.group(0)}', outside the repository"
    scripts = sorted({os.path.relpath(p, repo.root) for g in USER_SCRIPTS
                      for p in glob.glob(repo.path(g))})
    for script in scripts:
        for m in OUTSIDE.finditer(repo.run(script, "--help")):
            yield f"outside: {script} --help cites '{m.group(0)}', outside the repository"


# --- grpc-probe --------------------------------------------------------------
KNATIVE_1_11 = r"Knative\b.{0,80}?(?:>=|≥|\bv|\bfrom )\s*1\.11\b"
KUBERNETES_1_24 = r"Kubernetes\b.{0,40}?(?:>=|≥|\bv)?\s*1\.24\b"
MANIFEST = "deploy/base/worker/knative-service.yaml"


def states_versions(text):
    t = flat(text)
    return bool(re.search(KNATIVE_1_11, t, re.I) and re.search(KUBERNETES_1_24, t, re.I))


def check_grpc_probe(repo):
    probe_paragraphs = [p for p in paragraphs(repo.read("docs/deploy.md"))
                        if re.search(r"grpc", p, re.I) and re.search(r"probe", p, re.I)]
    if not any(states_versions(p) for p in probe_paragraphs):
        yield ("grpc-probe: docs/deploy.md does not say, where it describes the gRPC "
               "probe, that it needs Knative >= 1.11 on Kubernetes >= 1.24")
    lines = repo.read(MANIFEST).splitlines()
    probes = [i for i, l in enumerate(lines) if re.match(r"\s*grpc:\s*$", l)]
    if not probes:
        yield f"grpc-probe: {MANIFEST} has no grpc: probe (update check_docs_claims.py)"
    for i in probes:
        comments = []  # the comment lines right above the probe (and its key)
        j = i - 1
        while j >= 0 and re.match(r"\s*(#|\w+Probe:\s*$)", lines[j]):
            comments.insert(0, lines[j].split("#", 1)[-1])
            j -= 1
        if not states_versions(" ".join(comments)):
            yield (f"grpc-probe: {MANIFEST}:{i + 1}: no comment next to the grpc probe "
                   f"saying it needs Knative >= 1.11 on Kubernetes >= 1.24")


# --- limits ------------------------------------------------------------------
def constant(repo, rel, name):
    """The value of `inline constexpr ... name = EXPR;` in a header, where
    EXPR is a number, `int64_t{N} << K`, `N << K` or `N * M`."""
    m = re.search(rf"\b{name}\s*=\s*([^;]+);", repo.read(rel))
    if not m:
        raise Unusable(f"{rel} has no {name} (update check_docs_claims.py)")
    expr = re.sub(r"\w+\{(\d+)\}", r"\1", m.group(1)).replace("'", "")
    if not re.fullmatch(r"[\d\s<*]+", expr):
        raise Unusable(f"{rel}: {name} = {expr} is not a plain number")
    return eval(expr, {"__builtins__": {}})  # digits, <<, * only (checked)


def size_text(n):
    """64 MiB / 64 KiB / 4096 bytes, as the docs write sizes."""
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


HTTP_SERVER = "common/include/knbench/common/http_server.h"
ROUTER = "local_serving/include/knbench/local_serving/router.h"
LIMITS = [  # (doc, header, constant, how the doc writes it)
    ("docs/load_driver.md", "load_driver/include/knbench/load_driver/schedule.h",
     "kMaxTraceBytes", lambda n: rf"Limits: {size_text(n)}"),
    ("docs/load_driver.md", "load_driver/include/knbench/load_driver/schedule.h",
     "kMaxTraceLineBytes", lambda n: rf"lines of at most {n} bytes"),
    ("docs/load_driver.md", "load_driver/include/knbench/load_driver/schedule.h",
     "kMaxTraceRates", lambda n: rf"{n:,} rates".replace(",", " ")),
    ("README.md", "worker/include/knbench/worker/worker_service.h",
     "kMaxRequestBytes", lambda n: rf"more than {size_text(n)} gets RESOURCE_EXHAUSTED"),
    ("README.md", "worker/include/knbench/worker/worker_server.h",
     "kMaxGrpcMessageBytes", lambda n: rf"messages over {size_text(n)}"),
    ("README.md", "worker/include/knbench/worker/worker_server.h",
     "kGrpcMemoryQuotaBytes", lambda n: rf"a {size_text(n)} resource quota"),
    ("README.md", HTTP_SERVER, "max_connections",
     lambda n: rf"Metrics port: at most {n} connections"),
    ("README.md", HTTP_SERVER, "max_connections_per_address",
     lambda n: rf"at most {n} of them from one client address"),
    ("README.md", HTTP_SERVER, "max_connections_per_address",
     lambda n: rf"its address at {n}"),
    ("docs/load_driver.md", HTTP_SERVER, "max_connections",
     lambda n: rf"at most {n} connections at once"),
    ("docs/load_driver.md", HTTP_SERVER, "max_connections_per_address",
     lambda n: rf"at most {n} from one client address"),
    ("docs/load_driver.md", HTTP_SERVER, "max_connections_per_address",
     lambda n: rf"already holds {n}"),
    ("docs/local_serving.md", ROUTER, "kMaxMessageBytes",
     lambda n: rf"Request messages: more than {size_text(n)} gets RESOURCE_EXHAUSTED"),
    ("docs/local_serving.md", ROUTER, "kMessageBudgetBytes",
     lambda n: rf"holds at most {size_text(n)} of request messages"),
    ("docs/local_serving.md", ROUTER, "kMessageBudgetBytes",
     lambda n: rf"against the {size_text(n)} budget"),
    ("docs/local_serving.md", ROUTER, "kMaxResponseBytes",
     lambda n: rf"response larger than {size_text(n)} gets RESOURCE_EXHAUSTED"),
    ("docs/local_serving.md", ROUTER, "kMaxMetadataBytes",
     lambda n: rf"whose headers pass {size_text(n)} (names"),
    ("docs/local_serving.md", ROUTER, "kStreamsAboveQueueDepth",
     lambda n: rf"HTTP/2 streams per connection: --queue-depth + {n}"),
    ("docs/local_serving.md", ROUTER, "kMessageTimeoutSeconds",
     lambda n: rf"has not arrived whole {n} s after its call began"),
]


def check_limits(repo):
    for doc, header, name, phrase in LIMITS:
        want = phrase(constant(repo, header, name))
        if want not in flat(repo.read(doc)):
            yield f"limits: {doc} does not say \"{want}\" ({name} in {header})"


CHECKS = {
    "poisson": check_poisson,
    "knee": check_knee,
    "csv-names": check_csv_names,
    "outside": check_outside,
    "grpc-probe": check_grpc_probe,
    "limits": check_limits,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=REPO, metavar="DIR",
                    help="the repository (or a copy of it) to check [%(default)s]")
    ap.add_argument("--only", nargs="+", choices=list(CHECKS), metavar="CHECK",
                    help="run only these checks: " + ", ".join(CHECKS))
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.root, "scripts", "run_experiments.sh")):
        ap.error(f"--root {args.root}: no scripts/run_experiments.sh there")
    repo = Repo(os.path.abspath(args.root))
    violations = 0
    names = args.only or list(CHECKS)
    try:
        for name in names:
            for line in CHECKS[name](repo):
                print(line)
                violations += 1
    except Unusable as e:
        print(f"check_docs_claims: {e}", file=sys.stderr)
        return 2
    print(f"check_docs_claims: {len(names)} checks, {violations} violations",
          file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
