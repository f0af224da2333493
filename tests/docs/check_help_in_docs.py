#!/usr/bin/python3
"""Every option a binary's or script's --help lists appears in its docs.

Runs each program with --help, takes every `--option` the text names, and
requires `--option` in at least one of the documents that describe that
program (README.md or a page under docs/). A flag added without a word in
the docs, or renamed in one place only, fails here with one line per gap.

Usage: check_help_in_docs.py --worker W --load-driver D --kpa-model K
                             --local-serving L
Exit: 0 every option documented, 1 gaps (listed), 2 bad usage or a --help
that fails.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Program (a binary given on the command line, or a path under ROOT) -> the
# documents that must name each of its options.
SCRIPTS = {
    "scripts/run_experiments.sh": ["docs/experiments.md"],
    "scripts/quickstart.sh": ["README.md", "docs/experiments.md"],
    "scripts/collect_prometheus.sh": ["docs/analysis.md", "docs/experiments.md"],
    "scripts/build_and_push.sh": ["docs/deploy.md"],
    "scripts/deploy_all.sh": ["docs/deploy.md"],
    "scripts/port_forward.sh": ["docs/deploy.md"],
    "scripts/test.sh": ["README.md", "DEVELOPERS.md"],
    "scripts/sanitize.sh": ["docs/bench.md", "README.md"],
    "scripts/install_deps.sh": ["README.md"],
    "tools/analyze_plot.py": ["docs/analysis.md"],
    "bench/run.sh": ["docs/bench.md"],
    "fuzz/run.sh": ["docs/bench.md"],
}
BINARIES = {
    "worker": ["README.md"],
    "load_driver": ["docs/load_driver.md"],
    "kpa_model": ["docs/kpa_model.md"],
    # Its autoscaling settings are kpa_model's flags, documented there.
    "local_serving": ["docs/local_serving.md", "docs/kpa_model.md"],
}
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def options(help_text):
    return sorted(set(OPTION.findall(help_text)) - {"--help"})


def documented(option, texts):
    pattern = re.compile(re.escape(option) + r"(?![a-z0-9-])")
    return any(pattern.search(t) for t in texts)


def read(doc):
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        return f.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in BINARIES:
        ap.add_argument("--" + name.replace("_", "-"), required=True,
                        metavar="PATH", help=f"the {name} binary")
    args = ap.parse_args()
    programs = [(getattr(args, n), n, docs) for n, docs in BINARIES.items()]
    programs += [(os.path.join(ROOT, p), p, docs) for p, docs in SCRIPTS.items()]
    gaps = 0
    checked = 0
    for path, name, docs in programs:
        command = [path, "--help"]
        if path.endswith(".py"):
            command.insert(0, "/usr/bin/python3")
        r = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            print(f"check_help_in_docs: {name} --help exited {r.returncode}",
                  file=sys.stderr)
            return 2
        texts = [read(d) for d in docs]
        for option in options(r.stdout + r.stderr):
            checked += 1
            if not documented(option, texts):
                print(f"{name}: {option} is in --help but not in {' or '.join(docs)}")
                gaps += 1
    print(f"check_help_in_docs: {checked} options of {len(programs)} programs, "
          f"{gaps} undocumented", file=sys.stderr)
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
