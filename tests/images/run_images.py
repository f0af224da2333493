#!/usr/bin/python3
"""Run the built worker and load-driver images as their manifests run them.

Each image runs from its own root filesystem (`buildah from` + `buildah
mount`) the way a container runtime starts a pod's container: the image's
ENTRYPOINT as PID 1 of a new PID namespace, the manifest's args and env
(Knative's injected env and `$(VAR)` expansion as deploy/tests/check_config.py
builds them), the manifest's runAsUser/runAsGroup, a read-only root
filesystem when readOnlyRootFilesystem is set, /proc, a minimal /dev, and
each emptyDir volume as a fresh 0777 directory. `buildah run` is not used:
with chroot isolation it has no read-only root and no PID namespace, and it
turns SIGTERM into SIGKILL for the command.

Run it under `unshare --net`: both containers then share one private
loopback, like two pods' containers on their own network, so the manifests'
fixed ports (50051, 2112, 2113) are used as written and cannot collide with
anything else on the machine. The driver's target is the worker's container
port on 127.0.0.1 instead of the cluster DNS name, and its --duration is
short; every other arg is the Job's. The manifests are the tracing
overlays' (deploy/overlays/tracing and tracing/driver: the base's plus an
--otlp-endpoint, render.py checks that nothing else differs), so the images
must carry the libcurl that flag loads; the collector's name resolves to
nothing here, so spans are dropped, and calls must not notice.

Asserts: the worker answers the readiness probe (gRPC health on the probe's
port) with SERVING; the driver's /done probe turns ready; every scheduled
call succeeded (driver summary, the CSV the driver wrote to /out, and the
worker's own counter); both processes run as PID 1 with the manifest's
uid/gid, no new privileges, on a read-only root; SIGTERM makes each exit 0
within its grace period.

Usage (as root, inside `unshare --net`):
  run_images.py --worker-image IMG --driver-image IMG --rendered DIR --workdir DIR
Exit: 0 all passed, 1 a check failed.
"""
import argparse
import csv
import ctypes
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "deploy", "tests"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
import check_config  # noqa: E402
from knbench_proc import wait_until  # noqa: E402

import grpc  # noqa: E402
import yaml  # noqa: E402

# Knative's revision timeoutSeconds default: the user container's grace period.
KNATIVE_DEFAULT_TIMEOUT_S = 300
# A clean shutdown with nothing in flight takes well under a second; waiting
# the worker's full 300 s grace would only slow a failing run down.
MAX_SIGTERM_WAIT_S = 60
DRIVER_DURATION_S = 4
PR_SET_PDEATHSIG = 1


class Failure(Exception):
    pass


def log(msg):
    print(f"run_images: {msg}", flush=True)


def buildah(*args):
    r = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f"buildah {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


def image_config(image):
    return json.loads(buildah("inspect", "--type", "image", image))["OCIv1"]["config"]


def die_with_parent():
    # The container's unshare process must not outlive this script, even if
    # this script is SIGKILLed (unshare --kill-child then stops PID 1).
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Container:
    """One image's container: its own rootfs and PID 1 process."""

    def __init__(self, name, image, workdir):
        self.name, self.image, self.workdir = name, image, workdir
        self.proc = None
        self.pid1 = None
        self.log_path = os.path.join(workdir, f"{name}.log")
        # A leftover from a killed earlier run would hold the name.
        subprocess.run(["buildah", "rm", name], capture_output=True, timeout=60)
        buildah("from", "--pull=never", "--name", name, image)
        self.rootfs = buildah("mount", name)
        self.config = image_config(image)

    def check_image(self):
        """No shell or package manager; /out belongs to the image's user."""
        problems = [f"has {p}" for p in ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/apt-get")
                    if os.path.lexists(self.rootfs + p)]
        st = os.stat(self.rootfs + "/out") if os.path.isdir(self.rootfs + "/out") else None
        if st is None:
            problems.append("has no /out directory")
        elif f"{st.st_uid}:{st.st_gid}" != self.config.get("User"):
            problems.append(f"/out is owned by {st.st_uid}:{st.st_gid}, not the image's "
                            f"User {self.config.get('User')}")
        if problems:
            raise Failure(f"{self.image}: " + "; ".join(problems))
        log(f"{self.image}: no shell, /out owned by {self.config.get('User')}")

    def start(self, container, env, args):
        """Starts the image's entrypoint as the pod spec `container` would."""
        sc = container.get("securityContext", {})
        user = self.config.get("User", "")
        if "runAsUser" in sc:
            user = f"{sc['runAsUser']}:{sc.get('runAsGroup', sc['runAsUser'])}"
        if not user or user.split(":")[0] in ("", "0", "root"):
            raise Failure(f"{self.name}: would run as root (image User {self.config.get('User')!r})")
        argv = list(self.config.get("Entrypoint") or []) + args
        if not argv:
            raise Failure(f"{self.name}: image has no ENTRYPOINT")
        full_env = dict(e.split("=", 1) for e in self.config.get("Env") or [])
        full_env.update(env)
        # Mount points, created in the container's own writable layer as a
        # runtime does before it makes the root read-only.
        mounts = []
        for vm in container.get("volumeMounts", []):
            host = os.path.join(self.workdir, f"{self.name}-{vm['name']}")
            os.makedirs(host)
            os.chmod(host, 0o777)  # emptyDir
            mounts.append((host, vm["mountPath"]))
        for point in ["/proc", "/dev"] + [m for _, m in mounts]:
            os.makedirs(self.rootfs + point, exist_ok=True)
        self.no_new_privs = sc.get("allowPrivilegeEscalation") is False
        q = shlex.quote
        r = q(self.rootfs)
        script = [
            "set -e",
            f"mount --bind {r} {r}",
            f"mount -t proc -o nosuid,nodev,noexec proc {r}/proc",
            f"mount -t tmpfs -o nosuid,noexec,mode=755,size=64k tmpfs {r}/dev",
            f"for d in null zero full random urandom; do : > {r}/dev/$d; "
            f"mount --bind /dev/$d {r}/dev/$d; done",
        ]
        script += [f"mount --bind {q(h)} {q(self.rootfs + m)}" for h, m in mounts]
        if sc.get("readOnlyRootFilesystem"):
            script.append(f"mount -o remount,bind,ro {r}")
        script.append(
            "exec /usr/bin/env -i " + " ".join(q(f"{k}={v}") for k, v in full_env.items()) +
            (" /usr/bin/setpriv --no-new-privs" if self.no_new_privs else "") +
            f" /usr/sbin/chroot --userspec={q(user)} {r} " + " ".join(q(a) for a in argv))
        self.volumes = {m: h for h, m in mounts}
        self.user = user
        logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--mount", "--fork", "--kill-child", "--propagation", "private",
             "/bin/sh", "-c", "\n".join(script)],
            stdout=logf, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        logf.close()
        children = f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"

        def forked():
            try:
                with open(children) as f:
                    kids = f.read().split()
            except FileNotFoundError:
                kids = []
            self.pid1 = int(kids[0]) if kids else None
            return self.pid1 is not None or self.proc.poll() is not None

        wait_until(forked, timeout=20, what=f"{self.name}'s PID 1", error=Failure)
        if self.pid1 is None:
            raise Failure(f"{self.name} exited at once:\n{self.tail()}")
        log(f"{self.name}: {' '.join(argv)} (uid:gid {user}, host pid {self.pid1})")

    def exec_name(self):
        try:
            return os.readlink(f"/proc/{self.pid1}/exe")
        except OSError:
            return ""

    def check_process(self, entrypoint, readonly):
        """The entrypoint itself (exec form, no shell) is PID 1, as the pod's user."""
        want = self.rootfs + entrypoint
        wait_until(lambda: self.exec_name() == want or self.proc.poll() is not None,
                   timeout=20, what=f"{self.name} to exec {entrypoint}", error=Failure)
        if self.proc.poll() is not None:
            raise Failure(f"{self.name} exited with status {self.proc.returncode} at start:\n"
                          f"{self.tail()}")
        if self.exec_name() != want:
            raise Failure(f"{self.name}: PID 1 is {self.exec_name()!r}, not {want}:\n{self.tail()}")
        with open(f"/proc/{self.pid1}/status") as f:
            status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        uid, gid = self.user.split(":")
        problems = []
        if status["NSpid"].split()[-1] != "1":
            problems.append(f"not PID 1 in its namespace (NSpid {status['NSpid']})")
        if set(status["Uid"].split()) != {uid} or set(status["Gid"].split()) != {gid} or \
                set(status["Groups"].split()) - {gid}:
            problems.append(f"Uid {status['Uid']} Gid {status['Gid']} Groups {status['Groups']}, "
                            f"want {self.user} and no other group")
        if status.get("CapEff", "").strip("0"):
            problems.append(f"has capabilities {status['CapEff']}")
        if self.no_new_privs and status.get("NoNewPrivs") != "1":
            problems.append("may gain privileges (NoNewPrivs is not 1)")
        with open(f"/proc/{self.pid1}/mountinfo") as f:
            root = [line.split() for line in f if line.split()[4] == "/"]
        opts = root[-1][5].split(",") if root else []
        if readonly and "ro" not in opts:
            problems.append(f"root filesystem is mounted {opts}, not read-only")
        if problems:
            raise Failure(f"{self.name}: " + "; ".join(problems))
        log(f"{self.name}: PID 1 is {entrypoint}, uid/gid {self.user}, no capabilities"
            f"{', no new privileges' if self.no_new_privs else ''}, "
            f"root filesystem {'read-only' if 'ro' in opts else 'writable'}")

    def sigterm(self, grace_s):
        """SIGTERM to PID 1 as the kubelet sends it; the exit status must be 0 within grace."""
        wait_s = min(grace_s, MAX_SIGTERM_WAIT_S)
        start = time.monotonic()
        os.kill(self.pid1, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            raise Failure(f"{self.name}: still running {wait_s} s after SIGTERM "
                          f"(grace {grace_s} s):\n{self.tail()}")
        took = time.monotonic() - start
        if rc != 0:
            raise Failure(f"{self.name}: exit status {rc} after SIGTERM:\n{self.tail()}")
        log(f"{self.name}: SIGTERM -> exit 0 after {took:.2f} s (grace {grace_s} s)")

    def tail(self, n=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no output)"

    def remove(self):
        if self.proc is not None and self.proc.poll() is None:
            if self.pid1:
                try:
                    os.kill(self.pid1, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.kill()
            self.proc.wait(timeout=20)
        subprocess.run(["buildah", "umount", self.name], capture_output=True, timeout=60)
        subprocess.run(["buildah", "rm", self.name], capture_output=True, timeout=60)


def manifest_container(path, kind):
    """(object, flavor, container) of the only container of ours in PATH's `kind`."""
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    found = []
    for obj in docs:
        flavor, containers = check_config.containers_of(obj)
        for c in containers:
            if c.get("image", "").startswith(check_config.IMAGES[kind]):
                found.append((obj, flavor, c))
    if len(found) != 1:
        raise Failure(f"{path}: want exactly one {kind} container, found {len(found)}")
    return found[0]


def pod_env_args(obj, flavor, c):
    pod_name = f"{obj['metadata']['name']}-images-test"
    env = check_config.build_env(obj, flavor, c, pod_name)
    env.pop("PATH", None)  # the image's own PATH stays
    return env, [check_config.expand(a, env) for a in c.get("args", [])], pod_name


def override(args, flag, value):
    """Replaces --flag=...; the manifest must have it (so nothing is added silently)."""
    hits = [i for i, a in enumerate(args) if a.startswith(f"--{flag}=")]
    if len(hits) != 1:
        raise Failure(f"driver args {args} lack exactly one --{flag}=")
    out = list(args)
    out[hits[0]] = f"--{flag}={value}"
    return out


def named_port(c, port):
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in c.get("ports", []) if p.get("name") == port)


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError:
        return None, ""


def health_status(port):
    """grpc.health.v1.Health/Check with the empty service name, as the kubelet's grpc probe."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        try:
            reply = ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=2)
        except grpc.RpcError as e:
            return f"error {e.code().name}"
    # HealthCheckResponse{status = 1 (SERVING)} is the two bytes 08 01.
    return "SERVING" if reply == b"\x08\x01" else f"reply {reply!r}"


def counter(metrics_text, name, labels):
    for line in metrics_text.splitlines():
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.split()[-1])
    return None


def run(a):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
    with open("/proc/self/net/dev") as f:
        ifaces = [line.split(":")[0].strip() for line in f if ":" in line]
    if ifaces != ["lo"]:
        raise Failure(f"not in a private network namespace (interfaces {ifaces}); "
                      "run under `unshare --net`")

    wobj, wflavor, wc = manifest_container(os.path.join(a.rendered, "tracing.yaml"), "worker")
    dobj, dflavor, dc = manifest_container(os.path.join(a.rendered, "tracing-driver.yaml"),
                                           "driver")
    wenv, wargs, _ = pod_env_args(wobj, wflavor, wc)
    denv, dargs, dpod = pod_env_args(dobj, dflavor, dc)
    for who, args in (("worker", wargs), ("driver", dargs)):
        if not any(x.startswith("--otlp-endpoint=http") for x in args):
            raise Failure(f"the tracing overlay's {who} has no --otlp-endpoint: {args}")
    grpc_port = wc["ports"][0]["containerPort"]
    probe = wc["readinessProbe"]["grpc"]
    probe_port = probe.get("port", grpc_port)
    metrics_port = int(wenv["METRICS_PORT"])
    dargs = override(dargs, "target", f"127.0.0.1:{grpc_port}")
    dargs = override(dargs, "duration", f"{DRIVER_DURATION_S}s")
    rps = float(next(x.split("=", 1)[1] for x in dargs if x.startswith("--rps=")))
    expected = round(rps * DRIVER_DURATION_S)
    out_flag = next(x.split("=", 1)[1] for x in dargs if x.startswith("--out="))
    dprobe = dc["readinessProbe"]["httpGet"]
    dprobe_port = named_port(dc, dprobe["port"])
    worker_grace = wobj["spec"]["template"]["spec"].get("timeoutSeconds", KNATIVE_DEFAULT_TIMEOUT_S)
    driver_grace = dobj["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)

    worker = Container("knbench-images-worker", a.worker_image, a.workdir)
    driver = None
    try:
        worker.check_image()
        worker.start(wc, wenv, wargs)
        worker.check_process(worker.config["Entrypoint"][0],
                             wc.get("securityContext", {}).get("readOnlyRootFilesystem", False))
        state = {}

        def serving():
            if worker.proc.poll() is not None:
                return True
            state["health"] = health_status(probe_port)
            return state["health"] == "SERVING"

        try:
            wait_until(serving, timeout=30, poll=0.2, what="the worker's gRPC readiness probe",
                       error=Failure)
        except Failure as e:
            raise Failure(f"{e} (last answer: {state.get('health')})\n{worker.tail()}")
        if worker.proc.poll() is not None:
            raise Failure(f"worker exited with {worker.proc.returncode}:\n{worker.tail()}")
        log(f"worker: readiness probe (gRPC health on port {probe_port}) answers SERVING")

        driver = Container("knbench-images-driver", a.driver_image, a.workdir)
        driver.check_image()
        driver.start(dc, denv, dargs)
        driver.check_process(driver.config["Entrypoint"][0],
                             dc.get("securityContext", {}).get("readOnlyRootFilesystem", False))

        def run_over():
            if driver.proc.poll() is not None:
                raise Failure(f"driver exited with {driver.proc.returncode} before its run "
                              f"was fetched:\n{driver.tail()}")
            return http_get(dprobe_port, dprobe["path"])[0] == 200

        wait_until(run_over, timeout=DRIVER_DURATION_S + 60, poll=0.2,
                   what=f"the driver's readiness probe ({dprobe['path']})", error=Failure)
        code, body = http_get(dprobe_port, "/summary.json")
        if code != 200:
            raise Failure(f"driver /summary.json: HTTP {code}")
        summary = json.loads(body)
        got = {k: summary.get(k) for k in ("scheduled", "sent", "success", "failure", "dropped")}
        want = {"scheduled": expected, "sent": expected, "success": expected, "failure": 0,
                "dropped": 0}
        if got != want:
            raise Failure(f"driver summary {got}, want {want}; errors {summary.get('errors')}")
        if summary.get("pods") != {wenv.get("POD_NAME", "?"): expected}:
            raise Failure(f"answers came from {summary.get('pods')}, want all from the worker "
                          f"pod {wenv.get('POD_NAME')}")
        log(f"driver: {expected} of {expected} calls succeeded at {rps:g}/s, all answered by "
            f"{wenv.get('POD_NAME')}")
        code, text = http_get(metrics_port, "/metrics")
        served = counter(text, "worker_requests_total", 'status="success"')
        if code != 200 or served != expected:
            raise Failure(f"worker /metrics on METRICS_PORT {metrics_port}: HTTP {code}, "
                          f"worker_requests_total{{status=\"success\"}} = {served}, want {expected}")
        log(f"worker: /metrics on {metrics_port} counts {expected:d} successful requests")

        driver.sigterm(driver_grace)
        out_dir = os.path.dirname(out_flag)
        host_csv = os.path.join(driver.volumes[out_dir], os.path.basename(out_flag))
        st = os.stat(host_csv)
        if f"{st.st_uid}:{st.st_gid}" != driver.user:
            raise Failure(f"{out_flag} is owned by {st.st_uid}:{st.st_gid}, want {driver.user}")
        with open(host_csv, newline="") as f:
            rows = list(csv.DictReader(f))
        statuses = sorted({r["status"] for r in rows})
        if len(rows) != expected or statuses != ["success"]:
            raise Failure(f"{out_flag}: {len(rows)} rows with status {statuses}, want {expected} "
                          "rows, all success")
        log(f"driver: wrote {out_flag} on the {out_dir} volume as uid:gid {driver.user}: "
            f"{len(rows)} rows, all success (pod {dpod})")

        worker.sigterm(worker_grace)
    finally:
        for c in (driver, worker):
            if c is not None:
                c.remove()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker-image", required=True)
    ap.add_argument("--driver-image", required=True)
    ap.add_argument("--rendered", required=True, help="deploy.kustomize_render's output dir")
    ap.add_argument("--workdir", required=True, help="empty dir for logs and volumes")
    a = ap.parse_args()
    # ctest's timeout or Ctrl-C: stop the containers (finally) before exiting.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: sys.exit(128 + s))
    try:
        run(a)
    except Failure as e:
        print(f"FAIL {e}", file=sys.stderr)
        return 1
    log("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
