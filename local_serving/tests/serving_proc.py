"""What local_serving's end-to-end tests share: one local_serving process
with its files in a directory, the load driver, CSV reading, a real
Prometheus. Binaries come from the environment ctest sets (LOCAL_SERVING_BIN,
WORKER_BIN, DRIVER_BIN), read when used."""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from knbench_proc import free_port, wait_until  # noqa: E402

SERVING_LINE = re.compile(r"serving \S+ on ([\d.]+):(\d+), metrics on [\d.]+:(\d+)")


class Serving:
    """One local_serving process with its files in `tmp`; the pods' logs
    there too unless `log_dir` says where (None: no --log-dir)."""

    def __init__(self, tmp, *flags, worker=None, log_dir="", env=None):
        worker = worker or os.environ["WORKER_BIN"]
        self.tmp = str(tmp)
        os.makedirs(self.tmp, exist_ok=True)
        self.log_path = os.path.join(self.tmp, "local_serving.log")
        self.stats = os.path.join(self.tmp, "stats.csv")
        self.decisions = os.path.join(self.tmp, "decisions.csv")
        self.sd_file = os.path.join(self.tmp, "pods.json")
        log_dir = self.tmp if log_dir == "" else log_dir
        self.args = [os.environ["LOCAL_SERVING_BIN"], "--listen=127.0.0.1:0", "--metrics-port=0",
                     *([f"--log-dir={log_dir}"] if log_dir is not None else []),
                     f"--worker={worker}",
                     f"--stats-out={self.stats}", f"--decisions-out={self.decisions}",
                     f"--prometheus-sd-file={self.sd_file}", *flags]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        wait_until(lambda: self._ports() or self.proc.poll() is not None, 20,
                   "local_serving to listen")
        ports = self._ports()
        assert ports, f"local_serving exited {self.proc.returncode}: {self.text()}"
        self.target = f"127.0.0.1:{ports[0]}"
        self.metrics_url = f"http://127.0.0.1:{ports[1]}"

    def _ports(self):
        m = SERVING_LINE.search(self.text())
        return (m.group(2), m.group(3)) if m else None

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def get(self, path):
        with urllib.request.urlopen(self.metrics_url + path, timeout=5) as r:
            return r.read().decode()

    def state(self):
        return json.loads(self.get("/state"))

    def metric(self, name):
        """The value of the first sample of `name` (any labels)."""
        for line in self.get("/metrics").splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def stop(self, sig=signal.SIGTERM, timeout=40):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        self.log.close()
        return self.proc.returncode


def drive(serving, schedule, spin_ms, name="run", timeout="30s"):
    """Runs the load driver against `serving`; returns its CSV rows."""
    out = os.path.join(serving.tmp, f"{name}.csv")
    subprocess.run([os.environ["DRIVER_BIN"], f"--target={serving.target}", f"--spin-ms={spin_ms}",
                    f"--schedule={schedule}", f"--out={out}",
                    f"--summary={out}.json", "--bind=127.0.0.1", "--metrics-port=0",
                    f"--timeout={timeout}", "--progress-interval=1h"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=120)
    with open(out) as f:
        return list(csv.DictReader(f))


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False




def assert_replay_is_live(serving, *settings):
    """kpa_model --input STATS with the same settings prints serving's
    --decisions-out byte for byte (KPA_MODEL_BIN)."""
    replay = subprocess.run([os.environ["KPA_MODEL_BIN"], f"--input={serving.stats}",
                             *settings], check=True, capture_output=True, text=True).stdout
    with open(serving.decisions) as f:
        live = f.read()
    assert live.count("\n") > 10
    assert replay == live


def prom_query(url, expr):
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=5) as r:
        return json.load(r)["data"]["result"]


class Prometheus:
    """A real Prometheus server scraping every second, its data in `tmp`;
    `scrape_configs` is the YAML list of its scrape jobs."""

    def __init__(self, tmp, scrape_configs):
        binary = shutil.which("prometheus")
        assert binary, "prometheus not on PATH (scripts/install_deps.sh installs it)"
        port = free_port()
        config = os.path.join(str(tmp), "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n" + scrape_configs)
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(str(tmp), 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"

    def query(self, expr):
        return prom_query(self.url, expr)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
