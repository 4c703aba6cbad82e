"""The adapters' own Telemetry objects, shared by the process: one in memory, one per project.

An adapter given no Telemetry uses one of these. Without a project it is
``default_telemetry()``: in-memory capture, no export. With a project it is
``project_telemetry(name)``: Phoenix files a span under the project its resource names
(``openinference.project.name``), and a resource belongs to one TracerProvider, so each
project needs a Telemetry of its own. It is configured by the environment when it is first
made (``Telemetry.from_env``: ``OTEL_EXPORTER_OTLP_*`` decide where it exports, nowhere when
unset), and ``OTEL_BRIDGE_PROJECT`` or ``PHOENIX_PROJECT_NAME``, when set, replace the name the
code asked for. Neither takes agent runs made outside an adapter (``claim_unscoped=False``).
A shut-down one is made again on the next use.
"""

from __future__ import annotations

import threading

from ..errors import ConfigError
from ..telemetry import Telemetry, TelemetryConfig

__all__ = ["default_telemetry", "project_name", "project_telemetry"]

_lock = threading.Lock()
_default: Telemetry | None = None
_by_project: dict[str, Telemetry] = {}


def default_telemetry() -> Telemetry:
    """The process-wide embedded Telemetry (in-memory capture, no export), made on first use.

    It takes only the adapters' own runs: agent runs outside an adapter keep going to the
    Telemetry the user opened.
    """
    global _default
    with _lock:
        if _default is None or _default.closed:
            _default = Telemetry(claim_unscoped=False)
        return _default


def project_name(project: str) -> str:
    """The Phoenix project runs meant for ``project`` go to: the environment's, if it names one."""
    return TelemetryConfig.from_env().project_name or project


def project_telemetry(project: str) -> Telemetry:
    """The process-wide Telemetry of a project (see the module doc), made on first use."""
    if not project:
        raise ConfigError("project: a Phoenix project name must not be empty")
    name = project_name(project)
    with _lock:
        telemetry = _by_project.get(name)
        if telemetry is None or telemetry.closed:
            telemetry = Telemetry.from_env(project_name=name, claim_unscoped=False)
            _by_project[name] = telemetry
        return telemetry
