#!/usr/bin/python3
"""Check docker/*.Dockerfile against the project (no Docker engine needed).

For docker/worker.Dockerfile and docker/load_driver.Dockerfile:
- build stage FROM debian:bookworm, runtime stage FROM scratch;
- the build stage installs exactly the build package set, and every one of
  those packages is installed by scripts/install_deps.sh;
- CMake is configured with -DKNBENCH_BUILD_TESTS=OFF and -DKNBENCH_STATIC=ON
  (an option of the top-level CMakeLists.txt) and builds the target the file
  is named after, which add_executable() defines in that directory;
- docker/runtime_rootfs.sh lays out that binary's root filesystem, with
  --dlopen of the libcurl the tracing exporter opens at run time, the
  runtime stage copies it to / and its exec-form ENTRYPOINT is the binary
  where runtime_rootfs.sh puts it;
- every directory the target needs (its own, proto, common, any knbench::
  library it links, any cmake/ module the top level includes) is COPY'd, and
  .dockerignore keeps none out;
- the build stage is the same in both files up to the component's own COPY
  (so a layer cache builds the shared part once);
- the runtime stage has no RUN (no shell), a numeric non-root USER;
- with --binary NAME=PATH: docker/runtime_rootfs.sh lays out PATH with the
  binary, its ELF interpreter, every shared library `ldd PATH` reports,
  and libcurl.

Exit: 0 ok, 1 problems (a missing scripts/install_deps.sh is one).
"""
import argparse
import fnmatch
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_SET = {"libgrpc++-dev", "protobuf-compiler-grpc", "libprotobuf-dev", "protobuf-compiler",
             "libabsl-dev", "prometheus-cpp-dev", "libcivetweb-dev", "libnghttp2-dev",
             "nlohmann-json3-dev", "libcurl4-openssl-dev",
             "pkg-config", "cmake", "g++", "make"}
COMPONENTS = ["worker", "load_driver"]
ROOTFS_SCRIPT = "docker/runtime_rootfs.sh"
# The library the tracing exporter opens at run time: read from its source,
# so that the images follow a change of soname.
TRACING_HTTP = "tracing/src/otlp_http.cc"
with open(os.path.join(ROOT, TRACING_HTTP)) as _f:
    LIBCURL = re.search(r'kLibcurl\[\] = "([^"]+)"', _f.read()).group(1)


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


def top_level_modules():
    """Directories of the cmake modules the top-level CMakeLists.txt includes."""
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        text = f.read()
    return {os.path.dirname(m) for m in re.findall(r"include\(\s*([\w./-]+\.cmake)", text)}


def has_option(name):
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(rf"option\(\s*{name}\b", f.read()) is not None


def check_rootfs_script(name, binary):
    """Problems with what runtime_rootfs.sh lays out for BINARY."""
    problems = []
    r = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
    libs = re.findall(r"=>\s+(/\S+)", r.stdout) + re.findall(r"^\s*(/\S+)\s+\(", r.stdout, re.M)
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = os.path.join(tmp, "rootfs")
        r = subprocess.run([os.path.join(ROOT, ROOTFS_SCRIPT), "--dlopen", LIBCURL, binary,
                            rootfs], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            return [f"{ROOTFS_SCRIPT} {binary} failed: {r.stderr.strip()}"]
        curl = glob.glob(os.path.join(rootfs, "*", "*", LIBCURL)) + \
            glob.glob(os.path.join(rootfs, "*", LIBCURL))
        if not curl:
            problems.append(f"{ROOTFS_SCRIPT} --dlopen {LIBCURL} {name}: no {LIBCURL} in the rootfs")
        want = [f"/usr/local/bin/{os.path.basename(binary)}"] + libs
        for path in want:
            if not os.path.isfile(rootfs + path) or os.path.islink(rootfs + path):
                problems.append(f"{ROOTFS_SCRIPT} {name}: {path} is not a regular file in the rootfs")
        total = r.stdout.strip().splitlines()[-1].split()[0]
        print(f"{ROOTFS_SCRIPT} {binary}: the binary, its interpreter and {len(libs) - 1} "
              f"libraries, {int(total) / 1e6:.1f} MB")
    return problems


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
    shared_prefixes = []
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
        if runtime["from"] != "scratch":
            problems.append(f"{name}: runtime stage FROM {runtime['from']}, want scratch")

        bpkgs = set(apt_packages(build))
        if bpkgs != BUILD_SET:
            problems.append(f"{name}: build packages differ from the build set: "
                            f"extra {sorted(bpkgs - BUILD_SET)}, missing {sorted(BUILD_SET - bpkgs)}")
        for p in sorted(bpkgs - deps_words):
            problems.append(f"{name}: build package {p} is not installed by scripts/install_deps.sh")

        runs = " ".join(r for i, r in build["lines"] if i == "RUN")
        for flag in ("-DKNBENCH_BUILD_TESTS=OFF", "-DKNBENCH_STATIC=ON"):
            if flag not in runs:
                problems.append(f"{name}: CMake is not configured with {flag}")
        if not has_option("KNBENCH_STATIC"):
            problems.append("CMakeLists.txt has no option(KNBENCH_STATIC ...)")
        m = re.search(r"cmake --build (\S+) --target (\S+)", runs)
        if not m or m.group(2) != comp:
            problems.append(f"{name}: does not build target {comp} (cmake --build DIR --target {comp})")
        else:
            with open(os.path.join(ROOT, comp, "CMakeLists.txt")) as f:
                if not re.search(rf"add_executable\(\s*{comp}\b", f.read()):
                    problems.append(f"{name}: {comp}/CMakeLists.txt has no add_executable({comp} ...)")
            want_bin = f"{m.group(1)}/{comp}/{comp}"
            r = re.search(rf"{re.escape(ROOTFS_SCRIPT)} ((?:--dlopen \S+ )*){re.escape(want_bin)} (\S+)",
                          runs)
            if not r:
                problems.append(f"{name}: build stage does not run {ROOTFS_SCRIPT} {want_bin} ROOTFS")
            elif f"--dlopen {LIBCURL} " not in r.group(1):
                problems.append(f"{name}: {ROOTFS_SCRIPT} lacks --dlopen {LIBCURL}, which "
                                f"--otlp-endpoint loads ({TRACING_HTTP})")
            else:
                rootfs = r.group(2).rstrip("/")
                copies = [c for i, c in runtime["lines"] if i == "COPY"]
                if f"--from=build {rootfs}/ /" not in copies:
                    problems.append(f"{name}: runtime stage does not COPY --from=build {rootfs}/ /")
        copied = set()
        for i, r in build["lines"]:
            if i == "COPY":
                for src in r.split()[:-1]:
                    copied.add(src.strip("./").rstrip("/"))
        for d in sorted(needed_dirs(comp, aliases) | top_level_modules() | {ROOTFS_SCRIPT}):
            if d not in copied:
                problems.append(f"{name}: {d} is needed by {comp} but not COPY'd")
        own_copy = next((k for k, (i, r) in enumerate(build["lines"])
                         if i == "COPY" and r.split()[0].strip("./").rstrip("/") == comp), None)
        shared_prefixes.append((name, build["lines"][:own_copy]))
        for d in sorted(copied):
            for pat in ignore or []:
                if not pat.startswith("!") and (fnmatch.fnmatch(d, pat.rstrip("/")) or
                                                fnmatch.fnmatch(d + "/", pat)):
                    problems.append(f".dockerignore pattern {pat} excludes {d}, which {name} copies")

        if any(i == "RUN" for i, _ in runtime["lines"]):
            problems.append(f"{name}: runtime stage has RUN, but FROM scratch has no shell")
        users = [r for i, r in runtime["lines"] if i == "USER"]
        if not users or not re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]):
            problems.append(f"{name}: runtime USER must be numeric and not root, got {users}")
        entry = [r for i, r in runtime["lines"] if i == "ENTRYPOINT"]
        if not entry or entry[-1].replace(" ", "") != f'["/usr/local/bin/{comp}"]':
            problems.append(f"{name}: ENTRYPOINT must be exec form [\"/usr/local/bin/{comp}\"] "
                            f"(where {ROOTFS_SCRIPT} puts it), got {entry}")
        if comp in binaries:
            problems += check_rootfs_script(comp, binaries[comp])
        print(f"{name}: checked")

    if len(shared_prefixes) == 2 and shared_prefixes[0][1] != shared_prefixes[1][1]:
        problems.append(f"{shared_prefixes[0][0]} and {shared_prefixes[1][0]} differ before their "
                        "component's COPY: the shared build steps would be built twice")

    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
