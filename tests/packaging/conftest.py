"""One wheel and one fresh venv holding it, for the whole session (building takes a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.install import FreshVenv, build_wheel, install


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    return install(wheel, tmp_path_factory.mktemp("venv") / "venv")
