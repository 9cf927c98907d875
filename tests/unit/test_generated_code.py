"""gen/ is what protos/ generates today: stale generated code cannot land."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_fresh() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_the_check_notices_a_stale_file(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_protos
    finally:
        sys.path.pop(0)
    fresh = tmp_path / "gen"
    gen_protos.generate(fresh)
    copy = tmp_path / "copy"
    gen_protos.generate(copy)
    assert gen_protos.differences(fresh, copy) == []
    (copy / "keel" / "v1" / "chat_pb2.py").write_text("# edited by hand\n")
    (copy / "keel" / "v1" / "extra_pb2.py").write_text("")
    found = gen_protos.differences(fresh, copy)
    assert any("stale: chat_pb2.py" in f for f in found)
    assert any("extra_pb2.py" in f for f in found)
