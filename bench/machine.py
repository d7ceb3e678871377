"""The machine a bench run measured: what a figure means depends on it."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib import metadata

import psutil

PACKAGES = ("temporalio", "ray", "aiokafka", "faststream")


@dataclass(frozen=True)
class Machine:
    """The measuring machine: CPU, cores, memory, Python, the versions of ``PACKAGES``, load at the start."""

    cpu: str
    cores: int
    memory_gb: float
    python: str
    versions: dict[str, str]
    load_average: tuple[float, float, float]

    def rows(self) -> list[tuple[str, str]]:
        """``(name, value)`` rows for the report's machine table."""
        load = ", ".join(f"{x:.2f}" for x in self.load_average)
        return [
            ("CPU", self.cpu),
            ("Cores", str(self.cores)),
            ("Memory", f"{self.memory_gb:.1f} GiB"),
            ("Python", self.python),
            *((name, version) for name, version in self.versions.items()),
            ("Load average at start (1, 5, 15 min)", load),
        ]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> Machine:
    """The machine this process runs on, now (the load average is the current one)."""
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        memory_gb=psutil.virtual_memory().total / 1024**3,
        python=platform.python_version(),
        versions={package: _version(package) for package in PACKAGES},
        load_average=os.getloadavg(),
    )
