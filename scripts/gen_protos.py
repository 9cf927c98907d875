"""Generate the Python code for every .proto under protos/ into gen/.

`python scripts/gen_protos.py` regenerates gen/; `--check` generates into a
temporary folder and fails when gen/ differs, so stale generated code cannot
land. gen/ is an import root (`from keel.v1 import chat_pb2`); imports are
not rewritten.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
GEN = ROOT / "gen"


def generate(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    well_known = str(resources.files("grpc_tools") / "_proto")
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Regular packages, so setuptools and mypy see them.
    for folder in [p for p in out.rglob("*") if p.is_dir()]:
        (folder / "__init__.py").touch()


def differences(left: Path, right: Path) -> list[str]:
    cmp = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [f"missing from gen/: {n}" for n in cmp.left_only]
    found += [f"not generated from protos/: {n}" for n in cmp.right_only]
    found += [f"stale: {n}" for n in cmp.diff_files]
    for name, sub in cmp.subdirs.items():
        found += [f"{name}/{d}" for d in differences(Path(sub.left), Path(sub.right))]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if gen/ is stale")
    args = parser.parse_args()
    if not args.check:
        shutil.rmtree(GEN, ignore_errors=True)
        generate(GEN)
        print(f"generated {GEN.relative_to(ROOT)}/")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "gen"
        generate(fresh)
        stale = differences(fresh, GEN)
    if stale:
        print("gen/ is stale; run `make proto`:", *stale, sep="\n  ", file=sys.stderr)
        return 1
    print("gen/ is fresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
