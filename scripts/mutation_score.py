"""Mutation scores of the modules that decide outcomes (mutmut; not part of CI, it is slow).

    python scripts/mutation_score.py registry/states.py question_bank/scoring.py [-j 2] [--keep]

Each module is mutated on its own, in a scratch directory, with only its own fast tests
([tool.mutation_score.modules] in pyproject.toml maps module -> test files; mutmut then runs,
for each mutant, just the tests that reach the mutated function). Prints a table and the
survivors, and as its last line one JSON object:
{"modules": {"registry/states.py": 0.93, ...}, "min_score": 0.91, "mutants": N,
 "survivors": [["file:line", "change"], ...]}

Score = killed / (mutants - equivalent): a mutant no test reaches counts as a survivor; one that
times out (by CPU time) counts as killed. Equivalent mutants - changes no caller can observe -
are listed with their reason in [[tool.mutation_score.equivalent]] (file, the original line and
the mutated line, stripped) and counted nowhere. --keep leaves the scratch directory for
`mutmut browse` / `mutmut show NAME` run inside it.

Guards against a false score: the module's tests run once on the unmutated code first, and the
run stops with an error if they fail (every mutant would then count as killed); hypothesis's
example database is switched off (DINGKAO_HYPOTHESIS_NO_DATABASE, read by tests/conftest.py), so
an example that failed once is not replayed for every later mutant.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Statuses of `mutmut results`; a timeout is a mutant that changed behaviour (it looped).
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
NOT_KILLED = {"survived", "no tests", "suspicious", "not checked", "skipped"}


@dataclass(frozen=True, slots=True)
class Equivalent:
    file: str
    line: str
    mutant: str
    reason: str


@dataclass(slots=True)
class Mutant:
    name: str
    status: str
    where: str = ""  # "file:line"
    old: str = ""  # the original line(s), stripped
    new: str = ""  # the mutated line(s), stripped
    change: str = ""  # the short form shown and reported


@dataclass(slots=True)
class ModuleResult:
    module: str
    mutants: list[Mutant] = field(default_factory=list)
    equivalent: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def counted(self) -> list[Mutant]:
        return [m for m in self.mutants if m not in self.equivalent]

    @property
    def killed(self) -> int:
        return sum(1 for m in self.counted if m.status in KILLED)

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.counted if m.status not in KILLED]

    @property
    def score(self) -> float:
        return self.killed / len(self.counted) if self.counted else 1.0


def load_config() -> tuple[dict, dict[str, list[str]], list[Equivalent], dict]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    tool = data.get("tool", {})
    ours = tool.get("mutation_score", {})
    equivalents = [Equivalent(e["file"], e["line"], e["mutant"], e["reason"]) for e in ours.get("equivalent", [])]
    return tool.get("mutmut", {}), ours.get("modules", {}), equivalents, tool.get("pytest", {}).get("ini_options", {})


def _toml_table(name: str, values: dict) -> str:
    # Strings, lists of strings, numbers and booleans only: their JSON spelling is valid TOML.
    return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in values.items())


def prepare_workdir(module: str, tests: list[str], mutmut_cfg: dict, pytest_cfg: dict) -> Path:
    """A scratch project: links to the packages and tests, and a pyproject.toml that mutates
    only ``module`` and selects only its tests."""
    work = Path(tempfile.mkdtemp(prefix="dingkao-mutation-"))
    for top in [*mutmut_cfg["source_paths"], "tests"]:
        (work / top).symlink_to(REPO / top, target_is_directory=True)
    cfg = {**mutmut_cfg, "only_mutate": [module], "pytest_add_cli_args_test_selection": tests}
    (work / "pyproject.toml").write_text(
        _toml_table("tool.mutmut", cfg) + "\n" + _toml_table("tool.pytest.ini_options", pytest_cfg), "utf-8")
    return work


def mutmut_command() -> list[str]:
    venv_python = REPO / ".venv" / "bin" / "python"
    return [str(venv_python if venv_python.exists() else sys.executable), "-m", "mutmut"]


def test_env() -> dict[str, str]:
    return {**os.environ, "DINGKAO_SHARED_DIR": os.environ.get("DINGKAO_SHARED_DIR", str(REPO.parent / "shared")),
            "DINGKAO_HYPOTHESIS_NO_DATABASE": "1"}


def check_unmutated(module: str, work: Path, tests: list[str], mutmut_cfg: dict, log: Path) -> None:
    """Stop when the selected tests fail on the unmutated code: every mutant would count as killed."""
    python = mutmut_command()[0]
    with log.open("w") as out:
        done = subprocess.run([python, "-m", "pytest", "-q", "-n", "0", *mutmut_cfg.get("pytest_add_cli_args", []), *tests],
                              cwd=work, env=test_env(), stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text("utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{module}: its tests fail on the unmutated code (pytest exit {done.returncode}), so no score "
                         f"is given; fix the code or the tests first. The end of pytest's output:\n{tail}")


def run_mutmut(work: Path, jobs: int, log: Path) -> None:
    env = test_env()
    with log.open("w") as out:
        done = subprocess.run([*mutmut_command(), "run", "--max-children", str(jobs)], cwd=work, env=env,
                              stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text("utf-8", errors="replace")[-3000:]
        raise SystemExit(f"mutmut run failed in {work} (exit {done.returncode}); the end of its output:\n{tail}")


def statuses(work: Path) -> dict[str, str]:
    out = subprocess.run([*mutmut_command(), "results", "--all", "true"], cwd=work, capture_output=True,
                         text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            found[name] = status
    return found


def show(work: Path, name: str) -> str:
    return subprocess.run([*mutmut_command(), "show", name], cwd=work, capture_output=True, text=True,
                          check=True).stdout


def _function_span(source: str, name: str) -> tuple[int, int]:
    """Lines (first, last) of the function a mutant was made from; whole file when not found.

    ``x_name__mutmut_3`` is the function ``name``; ``xǁClassǁname__mutmut_3`` a method."""
    base = name.rpartition(".")[2].split("__mutmut_")[0]
    parts = base.split("ǁ")
    wanted, owner = (parts[-1], parts[1]) if len(parts) == 3 else (base.removeprefix("x_"), None)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and owner is not None and node.name == owner:
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == wanted:
                    return min([item.lineno, *(d.lineno for d in item.decorator_list)]), item.end_lineno or item.lineno
        if owner is None and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == wanted:
            return min([node.lineno, *(d.lineno for d in node.decorator_list)]), node.end_lineno or node.lineno
    return 1, len(source.splitlines())


_TOKEN = re.compile(r"\s+|\w+|\*\*=?|//=?|<<=?|>>=?|[-+*/%&|^<>=!:]=|->|[^\w\s]")


def short_change(old: str, new: str, context: int = 2) -> str:
    """The differing tokens of two lines with a little context: ``a and b -> a or b``."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    ops = [op for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"]
    if not ops:
        return f"{old} -> {new}"
    i1, j1 = ops[0][1], ops[0][3]
    i2, j2 = ops[-1][2], ops[-1][4]

    def widen(start: int, end: int, toks: list[str]) -> tuple[int, int]:
        for _ in range(context):
            while start > 0 and toks[start - 1].isspace():
                start -= 1
            start = max(0, start - 1)
        for _ in range(context):
            while end < len(toks) and toks[end].isspace():
                end += 1
            end = min(len(toks), end + 1)
        return start, end

    s1, e1 = widen(i1, i2, a)
    s2 = max(0, j1 - (i1 - s1))
    e2 = min(len(b), j2 + (e1 - i2))

    def clip(text: str) -> str:
        text = text.strip()
        return text if len(text) <= 90 else text[:87] + "..."

    return f"{clip(''.join(a[s1:e1]))} -> {clip(''.join(b[s2:e2]))}"


def describe(mutant: Mutant, diff: str, module: str) -> None:
    """Fill where/old/new/change from `mutmut show`'s function-relative diff."""
    hunk_old: list[str] = []  # the original side of the hunk, stripped
    first_change = None
    removed: list[str] = []
    added: list[str] = []
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("@@"):
            in_hunk = True
            continue
        if not in_hunk or line.startswith(("---", "+++")):
            continue
        tag, text = line[:1], line[1:].strip()
        if tag == "+":
            added.append(text)
            if first_change is None:
                first_change = len(hunk_old)
        elif tag in (" ", "-"):
            if tag == "-":
                removed.append(text)
                if first_change is None:
                    first_change = len(hunk_old)
            hunk_old.append(text)
    source = (REPO / module).read_text("utf-8")
    lines = [s.strip() for s in source.splitlines()]
    first, last = _function_span(source, mutant.name)
    line_no = first
    # The hunk's original side is a contiguous block of the function (leading comments included).
    for start in range(max(0, first - 1 - len(hunk_old)), last):
        if lines[start:start + len(hunk_old)] == hunk_old:
            line_no = start + 1 + (first_change or 0)
            break
    mutant.where = f"{module}:{line_no}"
    mutant.old, mutant.new = " / ".join(removed), " / ".join(added)
    mutant.change = short_change(mutant.old, mutant.new)


def measure(module: str, tests: list[str], mutmut_cfg: dict, pytest_cfg: dict, equivalents: list[Equivalent], *,
            jobs: int, keep: bool) -> ModuleResult:
    missing = [t for t in tests if not (REPO / t.split("::")[0]).exists()]
    if missing:
        raise SystemExit(f"{module}: test files not found: {', '.join(missing)}")
    started = time.monotonic()
    work = prepare_workdir(module, tests, mutmut_cfg, pytest_cfg)
    log = work / "mutmut.log"
    try:
        check_unmutated(module, work, tests, mutmut_cfg, work / "unmutated.log")
        run_mutmut(work, jobs, log)
        result = ModuleResult(module)
        for name, status in sorted(statuses(work).items(), key=lambda kv: _natural(kv[0])):
            if status in KILLED:
                result.mutants.append(Mutant(name, status))
                continue
            if status not in NOT_KILLED:
                raise SystemExit(f"{module}: mutant {name} ended as {status!r}; see {log}")
            mutant = Mutant(name, status)
            describe(mutant, show(work, name), module)
            result.mutants.append(mutant)
            if any(e.file == module and e.line == mutant.old and e.mutant == mutant.new for e in equivalents):
                result.equivalent.append(mutant)
    finally:
        if keep:
            print(f"{module}: mutmut's directory kept at {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def _natural(name: str) -> tuple[str, int]:
    base, _, number = name.rpartition("__mutmut_")
    return base, int(number) if number.isdigit() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="+", metavar="MODULE", help="module path, e.g. registry/states.py")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep mutmut's scratch directories")
    args = parser.parse_args(argv)

    mutmut_cfg, test_map, equivalents, pytest_cfg = load_config()
    unknown = [m for m in args.modules if m not in test_map]
    if unknown:
        parser.error(f"no tests configured for {', '.join(unknown)} in [tool.mutation_score.modules]; "
                     f"known: {', '.join(test_map)}")
    results = [measure(m, test_map[m], mutmut_cfg, pytest_cfg, equivalents, jobs=args.jobs, keep=args.keep)
               for m in args.modules]

    print(f"{'module':<34} {'mutants':>7} {'equiv':>5} {'killed':>6} {'left':>5} {'score':>6} {'time':>6}")
    for r in results:
        print(f"{r.module:<34} {len(r.mutants):>7} {len(r.equivalent):>5} {r.killed:>6} {len(r.survivors):>5} "
              f"{r.score:>6.1%} {r.seconds:>5.0f}s")
    matched = {(r.module, m.old, m.new) for r in results for m in r.equivalent}
    for e in equivalents:
        if e.file in args.modules and (e.file, e.line, e.mutant) not in matched:
            print(f"note: no mutant matches the equivalent entry for {e.file}: {e.line} -> {e.mutant}")
    survivors = [m for r in results for m in r.survivors]
    if survivors:
        print("\nsurvivors:")
        for m in survivors:
            print(f"  {m.where:<36} [{m.status}] {m.change}")
    print(json.dumps({
        "modules": {r.module: round(r.score, 4) for r in results},
        "min_score": round(min(r.score for r in results), 4),
        "mutants": sum(len(r.counted) for r in results),
        "survivors": [[m.where, m.change] for m in survivors],
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
