"""scripts/mutation_score.py: where a mutant sits, how its change is shown, and the guards against a
false score (mutmut itself is not run)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis._settings import _CI_VARS  # the variables by which hypothesis knows it runs on CI

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mutation_score", REPO / "scripts" / "mutation_score.py")
assert _spec and _spec.loader
ms = importlib.util.module_from_spec(_spec)
sys.modules["mutation_score"] = ms  # its dataclasses look their module up while being defined
_spec.loader.exec_module(ms)

# What `mutmut show` prints: a diff of the function alone, numbered from the function's first line.
DIFF = """# registry.states.x_check_rating__mutmut_9: survived
--- registry/states.py
+++ registry/states.py
@@ -5,4 +5,4 @@
         return
     if failed_rating:
         raise IllegalTransition("所在机构评定为不合格：请确认不合格，或退回机构重新评定")
-    raise IllegalTransition("所在机构评定为合格：只能复核通过或退回医师修改")
+    raise IllegalTransition("XX所在机构评定为合格：只能复核通过或退回医师修改XX")"""


def test_a_mutant_is_placed_on_its_line_in_the_source_file() -> None:
    lines = (REPO / "registry" / "states.py").read_text("utf-8").splitlines()
    expected = lines.index('    raise IllegalTransition("所在机构评定为合格：只能复核通过或退回医师修改")') + 1
    mutant = ms.Mutant("registry.states.x_check_rating__mutmut_9", "survived")
    ms.describe(mutant, DIFF, "registry/states.py")
    assert mutant.where == f"registry/states.py:{expected}"
    assert mutant.old == 'raise IllegalTransition("所在机构评定为合格：只能复核通过或退回医师修改")'
    assert mutant.new == 'raise IllegalTransition("XX所在机构评定为合格：只能复核通过或退回医师修改XX")'


def test_the_change_is_shown_as_the_differing_tokens_with_a_little_context() -> None:
    assert ms.short_change("if a and b is not None:", "if a or b is not None:") == "if a and b is -> if a or b is"
    assert ms.short_change("if median <= policy.limit:", "if median < policy.limit:") == (
        "if median <= policy. -> if median < policy.")


def test_the_score_leaves_equivalent_mutants_out_and_counts_unreached_ones_as_survivors() -> None:
    r = ms.ModuleResult("m.py", [ms.Mutant("a", "killed"), ms.Mutant("b", "timeout"), ms.Mutant("c", "survived"),
                                 ms.Mutant("d", "no tests"), ms.Mutant("e", "survived")])
    r.equivalent = [r.mutants[4]]
    assert (len(r.counted), r.killed, [m.name for m in r.survivors], r.score) == (4, 2, ["c", "d"], 0.5)


def _project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", "utf-8")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "test_it.py").write_text(body, "utf-8")
    return tmp_path


def test_tests_failing_on_the_unmutated_code_stop_the_run(tmp_path: Path) -> None:
    work = _project(tmp_path, "def test_it():\n    assert 1 + 1 == 3\n")
    with pytest.raises(SystemExit) as stop:
        ms.check_unmutated("m.py", work, ["t/test_it.py"], {"pytest_add_cli_args": ["-p", "no:cacheprovider"]},
                           work / "unmutated.log")
    message = str(stop.value)
    assert message.startswith("m.py: its tests fail on the unmutated code (pytest exit 1), so no score is given")
    assert "1 failed" in message


def test_tests_passing_on_the_unmutated_code_let_the_run_go_on(tmp_path: Path) -> None:
    work = _project(tmp_path, "def test_it():\n    assert 1 + 1 == 2\n")
    assert ms.check_unmutated("m.py", work, ["t/test_it.py"], {}, work / "unmutated.log") is None
    assert "1 passed" in (work / "unmutated.log").read_text("utf-8")


@pytest.mark.parametrize("off", [True, False])
def test_the_mutation_runs_switch_hypothesis_example_database_off(off: bool) -> None:
    env = {k: v for k, v in ms.test_env().items() if off or k != "DINGKAO_HYPOTHESIS_NO_DATABASE"}
    # A directory the run can write, so hypothesis's own default is a real database here, also on a CI
    # machine (where hypothesis loads its built-in "ci" profile, whose database is None).
    env = {k: v for k, v in env.items() if k not in _CI_VARS}
    assert ("DINGKAO_HYPOTHESIS_NO_DATABASE" in env) is off

    def database(imports: str) -> str:
        code = f"import sys; sys.path.insert(0, 'tests'); {imports}from hypothesis import settings; print(settings.default.database)"
        return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                              check=True).stdout.strip()

    untouched = database("")
    assert untouched != "None"
    assert (database("import conftest; ") == "None") is off
