from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.suite import Suite, start_suite


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """One running suite shared by the end-to-end tests that do not stop parts of it."""
    running = start_suite(Path(tmp_path_factory.mktemp("suite")))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _no_faults_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "suite" in request.fixturenames:
        request.getfixturevalue("suite").clear_faults()
