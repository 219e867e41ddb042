#!/usr/bin/env python3
"""ctest results.readme: docs/results/README.md is exactly what scripts/results_readme.py writes from the
reports committed beside it (the JSON reports, the sweep CSVs, canary.json), so no figure in it was edited
by hand and none is missing. The generator runs with --keep-stamp on a copy of docs/results; the one
sentence that names when the page was last rewritten (commit, date) is left out of the comparison.
"""
import difflib
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
REWRITTEN = re.compile(r" This page was rewritten from that run's reports, without re-running them, by "
                       r"`scripts/results_readme.py --keep-stamp` on commit \S+, \S+\.")


def main():
    committed = (ROOT / "docs" / "results" / "README.md").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / "results"
        shutil.copytree(ROOT / "docs" / "results", copy)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "results_readme.py"), str(copy), "--keep-stamp"],
                       cwd=ROOT, check=True)
        made = (copy / "README.md").read_text()
    a, b = REWRITTEN.sub("", committed), REWRITTEN.sub("", made)
    if a != b:
        sys.stdout.writelines(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "committed README",
                                                   "made from the reports"))
        sys.exit("results.readme: docs/results/README.md is not what scripts/results_readme.py makes from the "
                 "reports beside it; rerun scripts/results (or scripts/results_readme.py docs/results --keep-stamp)")
    print("results.readme: docs/results/README.md is what the generator makes from the committed reports")


if __name__ == "__main__":
    main()
