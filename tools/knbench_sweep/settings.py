"""The sweep's settings, resolved from the option table: a flag wins over its environment
variable, which wins over the default. Every error names what the user wrote: the flag
as spelled (--workers or --local-pods), else the variable, else the option's flag."""

import argparse
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .console import UsageError
from .kinds import Invalid, joined
from .options import BY_FLAG, MAX_RUNS, MODES, OPTIONS, Option, option


class HelpRequested(Exception):
    pass


class Settings:
    """Resolved values by option key (settings.rps_start), and where each came from."""

    def __init__(self, values: Dict[str, Any], sources: Dict[str, str], raw: Dict[str, str],
                 given: Dict[str, str]):
        self.values, self.sources, self.raw, self.given = values, sources, raw, given

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["values"][key]
        except KeyError:
            raise AttributeError(key)

    def what(self, key: str) -> str:
        """The flag or variable that set it (or the option's flag, for a default)."""
        return self.sources.get(key) or option(key).name

    @property
    def rates(self) -> List[int]:
        return list(range(self.rps_start, self.rps_max + 1, self.rps_step))

    @property
    def spins(self) -> List[int]:
        return list(range(self.spin_start, self.spin_max + 1, self.spin_step))

    @property
    def total_runs(self) -> int:
        rates = (self.rps_max - self.rps_start) // self.rps_step + 1
        spins = (self.spin_max - self.spin_start) // self.spin_step + 1
        return rates * spins * self.repeat


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        m = re.match(r"unrecognized arguments: (\S+)", message)
        raise UsageError(f"unknown argument '{m.group(1)}' (see --help)" if m else
                         f"{message} (see --help)")


class _Given(argparse.Action):
    """Records the value and the flag as the user spelled it."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = namespace.given
        opt = BY_FLAG[option_string]
        if opt.repeat and opt.key in given:
            values = given[opt.key][0] + [values]
        elif opt.repeat:
            values = [values]
        given[opt.key] = (values if opt.kind.takes_value else "1", option_string)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="run_experiments.sh", add_help=False, allow_abbrev=False)
    p.add_argument("-h", "--help", action="store_true")
    for opt in OPTIONS:
        if opt.flags:
            p.add_argument(*opt.flags, dest=opt.key, action=_Given,
                           nargs=None if opt.kind.takes_value else 0)
    return p


def _values_joined(argv: Sequence[str]) -> List[str]:
    """'--flag VALUE' as '--flag=VALUE': a value may start with '-' (--serving-args
    --noenable-scale-to-zero), which argparse would take for a flag."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        opt = BY_FLAG.get(arg)
        if opt is not None and opt.kind.takes_value:
            if i + 1 >= len(argv):
                raise UsageError(f"{arg} needs a value (see --help)")
            arg = f"{arg}={argv[i + 1]}"
            i += 1
        out.append(arg)
        i += 1
    return out


def parse_argv(argv: Sequence[str]) -> Dict[str, Tuple[Any, str]]:
    """option key -> (value as given, flag as spelled); HelpRequested on -h/--help."""
    ns = argparse.Namespace(given={})
    ns = _parser().parse_args(_values_joined(argv), ns)
    if ns.help:
        raise HelpRequested()
    return ns.given


def _lookup(opt: Option, given: Dict[str, Tuple[Any, str]], env: Mapping[str, str],
            mode: str, resolved: Dict[str, Any]) -> Tuple[Any, Optional[str]]:
    """(text, source): the flag's, else the first non-empty variable's, else the default
    (source None)."""
    if opt.key in given:
        value, spelled = given[opt.key]
        return (joined(value) if opt.repeat else value), spelled
    for name in opt.envs:
        if env.get(name):
            return env[name], name
    return opt.default_for(mode, resolved), None


def resolve(argv: Sequence[str], env: Mapping[str, str]) -> Settings:
    """Every option of the mode, parsed and checked on its own and against the others.
    UsageError (one line) on the first problem."""
    given = parse_argv(argv)
    mode = given.get("mode", ("local", ""))[0]
    if mode not in MODES:
        raise UsageError(f"--mode must be local or cluster, got '{mode}'")
    values: Dict[str, Any] = {"mode": mode}
    sources: Dict[str, str] = {"mode": given.get("mode", ("", "--mode"))[1]}
    raw: Dict[str, str] = {"mode": mode}
    for opt in OPTIONS[1:]:
        if opt.key in given and mode not in opt.modes:
            raise UsageError(f"{given[opt.key][1]} is {opt.modes[0]}-mode only")
        if mode not in opt.modes:
            values[opt.key] = None
            continue
        text, source = _lookup(opt, given, env, mode, values)
        sources[opt.key] = source or opt.name
        raw[opt.key] = text
        try:
            values[opt.key] = None if text is None else opt.kind.parse(text)
        except Invalid as e:
            raise UsageError(f"{source or opt.name} {e}, got '{text}'")
    s = Settings(values, sources, raw, {k: v[1] for k, v in given.items()})
    check(s)
    return s


def check(s: Settings) -> None:
    """What no single option can tell: its relation to the others."""
    w = s.what
    if s.thresholds and s.mode != "local":
        raise UsageError("--threshold is local-mode only: the cluster driver Job templates "
                         "(deploy/sweep) pass no --threshold")
    if s.autoscalers and s.local_pods:
        raise UsageError(f"{w('autoscalers')} runs autoscaler classes; {w('local_pods')} runs "
                         "fixed pods with no autoscaler: choose one")
    for key in ("hpa_manifest", "hpa_serving_args"):
        if key in s.given and "hpa" not in (s.autoscalers or []):
            raise UsageError(f"{s.given[key]} is the hpa class's: it needs "
                             f"{option('autoscalers').name} with hpa (e.g. kpa,hpa)")
    if s.stop_on_threshold and not s.thresholds:
        raise UsageError("--stop-on-threshold needs at least one --threshold")
    for lo, hi in (("rps_start", "rps_max"), ("spin_start", "spin_max")):
        if s.values[lo] > s.values[hi]:
            raise UsageError(f"{w(lo)} ({s.values[lo]}) is above {w(hi)} ({s.values[hi]})")
    if s.local_pods and s.rps_start < s.local_pods:
        raise UsageError(f"{w('rps_start')} ({s.rps_start}) is below {w('local_pods')} "
                         f"({s.local_pods}): each worker's driver needs at least 1 request/s")
    if s.warmup_s >= s.duration_s:
        raise UsageError(f"the warm-up ({s.warmup_s}s, {w('warmup_s')}) must be shorter than "
                         f"the run ({s.duration_s}s, {w('duration_s')})")
    if s.total_runs > MAX_RUNS:
        raise UsageError(f"the plan has {s.total_runs} runs (rates x spins x repeats); more "
                         f"than {MAX_RUNS} is surely a mistake: raise a step")


def conf_lines(s: Settings) -> Dict[str, str]:
    """The settings as sweep.conf and --dry-run show them (key=value, values as text)."""
    out = {"mode": s.mode, "rps": " ".join(map(str, s.rates)),
           "spin_ms": " ".join(map(str, s.spins)), "runs": str(s.total_runs)}
    for opt in OPTIONS:
        if opt.conf and s.mode in opt.modes:
            out[opt.conf] = conf_text(s.values[opt.key])
    return out


def conf_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def as_json(s: Settings) -> Dict[str, Any]:
    """The resolved options as data (runs.json): typed values, the lists of rates and spins."""
    out = {k: v for k, v in s.values.items() if v is not None}
    out.update(rates=s.rates, spins_ms=s.spins, runs=s.total_runs)
    return out
