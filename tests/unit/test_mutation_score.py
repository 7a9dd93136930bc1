"""scripts/mutation_score.py: where a mutant sits and how its change is shown (mutmut itself is not run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

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
