"""Run mutmut over some of the safety-critical modules, in a copy of the
committed tree, and print the score per file.

    .venv/bin/python tests/mutation_run.py                  # every [tool.mutmut] module
    .venv/bin/python tests/mutation_run.py app/routing/ --tests tests/routing

The copy (`.mutate/<name>/`, from `git archive HEAD`) gets its own
`[tool.mutmut]` paths, so a run of one module selects only its tests, and
`mutants/` never appears in the working tree. Niced, one child by default:
the machine is shared. `make mutate` calls this. Not part of CI (hours).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def with_paths(pyproject: str, paths: list[str], tests: list[str]) -> str:
    """The pyproject text with [tool.mutmut]'s source and test paths replaced."""
    pyproject = re.sub(
        r"(?ms)^source_paths = \[.*?\]$", f"source_paths = {toml_list(paths)}", pyproject, count=1
    )
    return re.sub(
        r"(?m)^pytest_add_cli_args_test_selection = \[.*?\]$",
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}",
        pyproject,
        count=1,
    )


def copy_of_head(target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


def scores(work: Path) -> dict[str, Counter]:
    """Killed / survived / other per source file, from mutmut's own records."""
    from mutmut.stats import status_by_exit_code

    per_file: dict[str, Counter] = {}
    for meta in (work / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text())
        source = str(meta.relative_to(work / "mutants"))[: -len(".meta")]
        counts = per_file.setdefault(source, Counter())
        for exit_code in data.get("exit_code_by_key", {}).values():
            status = status_by_exit_code[exit_code]
            # A timeout or a crash under a mutant is a kill too.
            counts["killed" if status in ("timeout", "segfault") else status] += 1
    return per_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="files or folders to mutate (default: all)")
    parser.add_argument("--tests", nargs="*", default=None, help="tests to run (default: all)")
    parser.add_argument("--max-children", default="1")
    parser.add_argument("--name", default=None, help="the copy's name under .mutate/")
    args = parser.parse_args()

    pyproject = (ROOT / "pyproject.toml").read_text()
    config = tomllib.loads(pyproject)["tool"]["mutmut"]
    paths = args.paths or config["source_paths"]
    tests = args.tests if args.tests is not None else config["pytest_add_cli_args_test_selection"]
    name = args.name or re.sub(r"[^A-Za-z0-9]+", "-", "_".join(paths)).strip("-") or "all"
    work = ROOT / ".mutate" / name
    copy_of_head(work)
    (work / "pyproject.toml").write_text(with_paths(pyproject, paths, tests))
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    env = {**os.environ, "PYTHONPATH": str(work)}
    subprocess.run(
        ["nice", "-n", "19", mutmut, "run", "--max-children", args.max_children],
        cwd=work,
        env=env,
        check=False,
    )
    subprocess.run([mutmut, "results"], cwd=work, env=env, check=False)
    total = Counter()
    print(f"\nscore per file ({work}):")
    for source, counts in sorted(scores(work).items()):
        total += counts
        checked = counts["killed"] + counts["survived"]
        print(f"  {source}: {counts['killed']} / {checked} killed  {dict(counts)}")
    print(f"  (survivors: cd {work} && mutmut show <name>)")
    checked = total["killed"] + total["survived"]
    print(f"  total: {total['killed']} / {checked} killed  {dict(total)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
