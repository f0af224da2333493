#!/usr/bin/python3
"""Check docker/*.Dockerfile against the project (no Docker engine needed).

For docker/worker.Dockerfile and docker/load_driver.Dockerfile:
- build stage FROM debian:bookworm, runtime stage FROM debian:bookworm-slim;
- the build stage installs exactly the build package set, and every one of
  those packages is installed by scripts/install_deps.sh;
- CMake is configured with -DKNBENCH_BUILD_TESTS=OFF and builds the target
  the file is named after, which add_executable() defines in that directory;
  the binary copied to the runtime stage is where CMake puts it;
- every directory the target needs (its own, proto, common and any
  knbench:: library it links) is COPY'd, and .dockerignore keeps none out;
- the runtime stage installs only existing, non -dev Debian packages
  (apt-cache), runs as a numeric non-root USER with an exec-form ENTRYPOINT;
- with --binary NAME=PATH: every shared library `ldd PATH` reports belongs to
  a runtime package, one of their dependencies, or debian:bookworm-slim's base.

Exit: 0 ok, 1 problems (a missing scripts/install_deps.sh is one).
"""
import argparse
import fnmatch
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_SET = {"libgrpc++-dev", "protobuf-compiler-grpc", "libprotobuf-dev", "protobuf-compiler",
             "libabsl-dev", "prometheus-cpp-dev", "libcivetweb-dev", "cmake", "g++", "make"}
# Packages debian:bookworm-slim already has (Essential/required set in use here).
SLIM_BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
COMPONENTS = ["worker", "load_driver"]


def parse_stages(text):
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            parts = rest.split()
            stages.append({"from": parts[0], "name": parts[2] if len(parts) > 2 else None,
                           "lines": []})
        elif stages:
            stages[-1]["lines"].append((instr, rest.strip()))
    return stages


def apt_packages(stage):
    pkgs = []
    for instr, rest in stage["lines"]:
        if instr != "RUN":
            continue
        for cmd in re.split(r"&&|;", rest):
            words = shlex.split(cmd)
            if "apt-get" in words and "install" in words:
                pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


def install_deps_words():
    path = os.path.join(ROOT, "scripts", "install_deps.sh")
    with open(path) as f:
        return set(re.findall(r"[A-Za-z0-9][A-Za-z0-9+.\-]*", f.read()))


def alias_dirs():
    """knbench::NAME -> directory whose CMakeLists.txt defines it."""
    out = {}
    for d in os.listdir(ROOT):
        cm = os.path.join(ROOT, d, "CMakeLists.txt")
        if os.path.isfile(cm):
            with open(cm) as f:
                for m in re.finditer(r"add_library\(\s*knbench::(\w+)\s+ALIAS", f.read()):
                    out[m.group(1)] = d
    return out


def needed_dirs(comp, aliases):
    need, todo = {comp}, [comp]
    while todo:
        d = todo.pop()
        with open(os.path.join(ROOT, d, "CMakeLists.txt")) as f:
            text = f.read()
        # Only what the non-test part links (tests are off in the image).
        text = text.split("if(KNBENCH_BUILD_TESTS)")[0]
        for m in re.finditer(r"knbench::(\w+)", text):
            dd = aliases.get(m.group(1))
            if dd and dd not in need:
                need.add(dd)
                todo.append(dd)
    return need


def apt_closure(pkgs):
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + pkgs,
                       capture_output=True, text=True, timeout=120)
    names = set()
    for line in r.stdout.splitlines():
        if not line.startswith(" "):
            names.add(line.strip().split(":")[0])
        elif "Depends:" in line:
            names.add(line.split("Depends:")[1].strip().strip("<>").split(":")[0])
    return names


def lib_packages(binary):
    """Shared library path -> Debian package (None if no package owns it)."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
    libs = re.findall(r"=>\s+(\S+)", r.stdout)
    cands = {}
    for lib in libs:
        c = [lib, os.path.realpath(lib)]
        c += [x[4:] for x in c if x.startswith("/usr/")]  # dpkg knows /lib/... on merged-/usr
        cands[lib] = c
    # One dpkg call for all candidate paths (it is slow per call).
    q = subprocess.run(["dpkg", "-S"] + sorted({x for c in cands.values() for x in c}),
                       capture_output=True, text=True, timeout=120)
    owner = {}
    for line in q.stdout.splitlines():
        pkg, _, path = line.partition(": ")
        owner[path.strip()] = pkg.split(":")[0].split(",")[0].strip()
    return {lib: next((owner[x] for x in c if x in owner), None) for lib, c in cands.items()}


def apt_known(pkgs):
    """Packages apt has a candidate for (one apt-cache call)."""
    r = subprocess.run(["apt-cache", "policy"] + list(pkgs), capture_output=True, text=True,
                       timeout=120)
    known, cur = set(), None
    for line in r.stdout.splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            cur = line[:-1]
        elif cur and line.strip().startswith("Candidate:") and "(none)" not in line:
            known.add(cur)
    return known


def dockerignore_patterns():
    path = os.path.join(ROOT, ".dockerignore")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", action="append", default=[], metavar="NAME=PATH",
                    help="a built binary (worker=..., load_driver=...) for the ldd check")
    a = ap.parse_args()
    binaries = dict(b.split("=", 1) for b in a.binary)
    problems = []
    if not os.path.exists(os.path.join(ROOT, "scripts", "install_deps.sh")):
        print("FAIL scripts/install_deps.sh is missing", file=sys.stderr)
        return 1
    deps_words = install_deps_words()
    aliases = alias_dirs()
    ignore = dockerignore_patterns()
    if ignore is None:
        problems.append(".dockerignore is missing at the repository root")

    for comp in COMPONENTS:
        path = os.path.join(ROOT, "docker", f"{comp}.Dockerfile")
        if not os.path.exists(path):
            problems.append(f"{path} is missing")
            continue
        with open(path) as f:
            stages = parse_stages(f.read())
        name = f"docker/{comp}.Dockerfile"
        if len(stages) != 2:
            problems.append(f"{name}: want 2 stages (build, runtime), found {len(stages)}")
            continue
        build, runtime = stages
        if build["from"] != "debian:bookworm":
            problems.append(f"{name}: build stage FROM {build['from']}, want debian:bookworm")
        if runtime["from"] != "debian:bookworm-slim":
            problems.append(f"{name}: runtime stage FROM {runtime['from']}, want debian:bookworm-slim")

        bpkgs = set(apt_packages(build))
        if bpkgs != BUILD_SET:
            problems.append(f"{name}: build packages differ from the build set: "
                            f"extra {sorted(bpkgs - BUILD_SET)}, missing {sorted(BUILD_SET - bpkgs)}")
        for p in sorted(bpkgs - deps_words):
            problems.append(f"{name}: build package {p} is not installed by scripts/install_deps.sh")

        runs = " ".join(r for i, r in build["lines"] if i == "RUN")
        if "-DKNBENCH_BUILD_TESTS=OFF" not in runs:
            problems.append(f"{name}: CMake is not configured with -DKNBENCH_BUILD_TESTS=OFF")
        m = re.search(r"cmake --build (\S+) --target (\S+)", runs)
        if not m or m.group(2) != comp:
            problems.append(f"{name}: does not build target {comp} (cmake --build DIR --target {comp})")
        else:
            with open(os.path.join(ROOT, comp, "CMakeLists.txt")) as f:
                if not re.search(rf"add_executable\(\s*{comp}\b", f.read()):
                    problems.append(f"{name}: {comp}/CMakeLists.txt has no add_executable({comp} ...)")
            want_bin = f"{m.group(1)}/{comp}/{comp}"
            copies = [r for i, r in runtime["lines"] if i == "COPY" and "--from=build" in r]
            if not any(want_bin in c.replace("/src/", "") for c in copies):
                problems.append(f"{name}: runtime stage does not copy {want_bin} from the build stage")
        copied = set()
        for i, r in build["lines"]:
            if i == "COPY":
                for src in r.split()[:-1]:
                    copied.add(src.strip("./").rstrip("/"))
        for d in sorted(needed_dirs(comp, aliases)):
            if d not in copied:
                problems.append(f"{name}: {d}/ is needed by {comp} but not COPY'd")
        for d in sorted(copied):
            for pat in ignore or []:
                if not pat.startswith("!") and (fnmatch.fnmatch(d, pat.rstrip("/")) or
                                                fnmatch.fnmatch(d + "/", pat)):
                    problems.append(f".dockerignore pattern {pat} excludes {d}, which {name} copies")

        rpkgs = apt_packages(runtime)
        known = apt_known(rpkgs)
        for p in rpkgs:
            if p.endswith("-dev"):
                problems.append(f"{name}: runtime stage installs a -dev package {p}")
            if p not in known:
                problems.append(f"{name}: runtime package {p} is unknown to apt (bookworm)")
        users = [r for i, r in runtime["lines"] if i == "USER"]
        if not users or not re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]):
            problems.append(f"{name}: runtime USER must be numeric and not root, got {users}")
        entry = [r for i, r in runtime["lines"] if i == "ENTRYPOINT"]
        if not entry or not entry[-1].startswith("["):
            problems.append(f"{name}: ENTRYPOINT must be exec form (no shell)")
        if comp in binaries:
            closure = apt_closure(rpkgs) | SLIM_BASE
            for lib, pkg in lib_packages(binaries[comp]).items():
                if pkg is None:
                    problems.append(f"{name}: {lib} (ldd {comp}) belongs to no Debian package")
                elif pkg not in closure:
                    problems.append(f"{name}: {lib} comes from {pkg}, which the runtime stage lacks")
            print(f"{name}: ldd of {binaries[comp]} covered by the runtime packages")
        print(f"{name}: checked")

    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
