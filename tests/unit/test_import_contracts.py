"""The layers are a contract: lint-imports (import-linter) checks pyproject.toml's [tool.importlinter]."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_every_import_contract_is_kept() -> None:
    run = lint()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_a_contract_the_code_breaks_is_reported(tmp_path: Path) -> None:
    # The exam draws its papers from the banks: forbidding that must fail, naming the import.
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["exam_server"]\n\n'
                      '[[tool.importlinter.contracts]]\nname = "exam without banks"\ntype = "forbidden"\n'
                      'source_modules = ["exam_server.exam"]\nforbidden_modules = ["exam_server.banks"]\n')
    run = lint("--config", str(config))
    assert run.returncode != 0
    assert "exam without banks BROKEN" in run.stdout and "exam_server.exam.papers -> exam_server.banks" in run.stdout
