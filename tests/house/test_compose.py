"""Offline checks of docker-compose.yml and collector/otel-collector.yaml (no Docker needed).

The compose file is validated against the Compose Specification schema (check-jsonschema), and
both files are checked for what the schema cannot see: pipelines that name undefined
components, an unsafe processor order, exporters without their own queue and retries, exporters
pointing at services or ports that do not exist, unpublished receiver ports, ports open beyond
loopback, unpinned images and missing health checks. The image tags must be the releases the
tests run as local programs (.ci/build-binaries, requirements-phoenix.txt), and the collector
config compose mounts is the one tests/sources/test_otelcol.py runs.

``check_compose`` and ``check_collector_config`` return a list of problems; the negative tests
break a copy of the real files and show that each kind of problem is caught.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from support.otelcol_fixtures import COLLECTOR_CONFIG as OTELCOL_TESTED_CONFIG
from support.paths import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
COLLECTOR_FILE = ROOT / "collector" / "otel-collector.yaml"
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
PIPELINE_PARTS = ("receivers", "processors", "exporters")

# ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR}, $VAR, $$ (Compose interpolation)
_INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


# ---------------------------------------------------------------------------- loading helpers


def load(path: Path) -> dict[str, Any]:
    """A YAML mapping from ``path``."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return data


def with_defaults(value: Any) -> Any:
    """``value`` with every Compose ``${VAR...}`` resolved as if no variable were set."""
    if isinstance(value, dict):
        return {key: with_defaults(item) for key, item in value.items()}
    if isinstance(value, list):
        return [with_defaults(item) for item in value]
    if not isinstance(value, str):
        return value

    def resolve(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        op = match.group("op") or ""
        return match.group("arg") if op.endswith("-") else ""

    return _INTERPOLATION.sub(resolve, value)


def published_ports(service: dict[str, Any]) -> list[tuple[str | None, str, int]]:
    """(host ip or None for all interfaces, host port, container port) of each published port."""
    found: list[tuple[str | None, str, int]] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            host_ip = entry.get("host_ip") or None
            published = str(entry.get("published", ""))
            found.append((host_ip, published, int(entry["target"])))
            continue
        spec = str(entry).split("/", 1)[0]  # drop /tcp, /udp
        if spec.startswith("["):  # [::1]:4317:4317
            host_ip, _, rest = spec[1:].partition("]:")
            published, _, target = rest.partition(":")
        else:
            parts = spec.split(":")
            if len(parts) == 3:
                host_ip, published, target = parts
            elif len(parts) == 2:
                host_ip, (published, target) = "", parts
            else:  # container port only: published on a random host port, all interfaces
                host_ip, published, target = "", "", parts[0]
        found.append((host_ip or None, published, int(target.split("-", 1)[0])))
    return found


def container_ports(service: dict[str, Any]) -> set[int]:
    """Ports the service's container listens on, as declared by ``expose`` and ``ports``."""
    exposed = {int(str(port).split("/", 1)[0]) for port in service.get("expose") or []}
    return exposed | {target for _, _, target in published_ports(service)}


def endpoint_host_port(endpoint: str, default_port: int) -> tuple[str, int]:
    """``"jaeger:4317"`` or ``"http://phoenix:6006/x"`` -> (host, port)."""
    parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    if parts.port is not None:
        return parts.hostname or "", parts.port
    return parts.hostname or "", 443 if parts.scheme == "https" else default_port


def image_tag(image: str) -> str | None:
    """The tag of ``repo/name:tag[@digest]``, or None when there is none."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _healthcheck_test(service: dict[str, Any]) -> list[str] | None:
    check = service.get("healthcheck") or {}
    if check.get("disable"):
        return None
    test = check.get("test")
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    if not test or test[0] == "NONE":
        return None
    return [str(part) for part in test]


def _probes(services: dict[str, Any], name: str) -> list[str]:
    """Services that share ``name``'s network namespace and have a health check of their own."""
    return [
        other
        for other, service in services.items()
        if service.get("network_mode") == f"service:{name}" and _healthcheck_test(service)
    ]


# ----------------------------------------------------------------------------------- checkers


def check_compose(compose: dict[str, Any]) -> list[str]:
    """Problems in the compose file that the Compose schema does not catch."""
    problems: list[str] = []
    compose = with_defaults(compose)
    services: dict[str, Any] = compose.get("services") or {}
    if not services:
        return ["compose: no services"]
    for name, service in services.items():
        image = service.get("image")
        tag = image_tag(image) if image else None
        if not image:
            problems.append(f"{name}: no image")
        elif tag is None:
            problems.append(f"{name}: image {image!r} has no tag")
        elif tag == "latest" or ("@" not in image and not re.search(r"\d", tag)):
            problems.append(f"{name}: image {image!r} is not pinned to a version")

        if _healthcheck_test(service) is None:
            probes = _probes(services, name)
            if not probes:
                problems.append(f"{name}: no healthcheck (and no probe service in its network)")

        for host_ip, published, target in published_ports(service):
            if host_ip not in LOOPBACK_HOSTS:
                problems.append(
                    f"{name}: port {published or '?'}->{target} binds to "
                    f"{host_ip or 'all interfaces'} by default, not loopback"
                )

        depends_on = service.get("depends_on") or {}
        for other in depends_on if isinstance(depends_on, (dict, list)) else ():
            if other not in services:
                problems.append(f"{name}: depends_on unknown service {other!r}")
        mode = service.get("network_mode", "")
        if mode.startswith("service:") and mode.removeprefix("service:") not in services:
            problems.append(f"{name}: network_mode names unknown service {mode!r}")
    return problems


def _collector_service(compose: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The compose service that mounts collector/otel-collector.yaml, if any."""
    relative = COLLECTOR_FILE.relative_to(ROOT).as_posix()
    for name, service in (compose.get("services") or {}).items():
        for volume in service.get("volumes") or []:
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            if source and source.removeprefix("./") == relative:
                return name, service
    return None


def _mount_target(service: dict[str, Any]) -> str | None:
    relative = COLLECTOR_FILE.relative_to(ROOT).as_posix()
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if str(volume.get("source", "")).removeprefix("./") == relative:
                return str(volume.get("target"))
        else:
            source, target = volume.split(":")[:2]
            if source.removeprefix("./") == relative:
                return target
    return None


def check_collector_config(compose: dict[str, Any], collector: dict[str, Any]) -> list[str]:
    """Problems in the collector config, and between it and the compose file."""
    problems: list[str] = []
    compose = with_defaults(compose)
    services: dict[str, Any] = compose.get("services") or {}
    defined = {part: collector.get(part) or {} for part in (*PIPELINE_PARTS, "extensions")}
    service_section = collector.get("service") or {}

    # Every pipeline names only defined components; memory_limiter comes first.
    pipelines = service_section.get("pipelines") or {}
    if not pipelines:
        problems.append("collector: no pipelines")
    for pipeline, spec in pipelines.items():
        for part in PIPELINE_PARTS:
            for component in spec.get(part) or []:
                if component not in defined[part]:
                    problems.append(f"pipeline {pipeline}: {part[:-1]} {component!r} undefined")
        processors = spec.get("processors") or []
        if not processors or processors[0].split("/", 1)[0] != "memory_limiter":
            problems.append(f"pipeline {pipeline}: memory_limiter is not the first processor")
        for part in ("receivers", "exporters"):
            if not spec.get(part):
                problems.append(f"pipeline {pipeline}: no {part}")
    for extension in service_section.get("extensions") or []:
        if extension not in defined["extensions"]:
            problems.append(f"service: extension {extension!r} undefined")
    health = [e for e in service_section.get("extensions") or [] if e.startswith("health_check")]
    if not health:
        problems.append("service: health_check extension not enabled")

    # Each exporter queues and retries on its own, and points at a real service and port.
    for name, config in defined["exporters"].items():
        config = config or {}
        for setting in ("sending_queue", "retry_on_failure"):
            if not (config.get(setting) or {}).get("enabled"):
                problems.append(f"exporter {name}: {setting} not enabled")
        endpoint = config.get("endpoint") or config.get("traces_endpoint")
        if not endpoint:
            problems.append(f"exporter {name}: no endpoint")
            continue
        kind = name.split("/", 1)[0]
        default_port = 4317 if kind in ("otlp", "otlp_grpc") else 4318
        host, port = endpoint_host_port(str(endpoint), default_port)
        if host not in services:
            problems.append(f"exporter {name}: endpoint host {host!r} is not a compose service")
        elif port not in container_ports(services[host]):
            problems.append(
                f"exporter {name}: {host} does not listen on {port} "
                f"(expose/ports say {sorted(container_ports(services[host]))})"
            )

    # The collector service mounts this file where --config points, and publishes its receivers.
    found = _collector_service(compose)
    if found is None:
        problems.append(f"compose: no service mounts {COLLECTOR_FILE.relative_to(ROOT)}")
        return problems
    service_name, service = found
    target = _mount_target(service)
    command = service.get("command") or []
    command = command.split() if isinstance(command, str) else command
    if f"--config={target}" not in command:
        problems.append(f"{service_name}: command does not load the mounted {target}")
    published = {target for _, _, target in published_ports(service)}
    for receiver, config in defined["receivers"].items():
        protocols = (config or {}).get("protocols") or {"": config or {}}
        for protocol, settings in protocols.items():
            endpoint = (settings or {}).get("endpoint")
            if not endpoint:
                problems.append(f"receiver {receiver} {protocol}: no explicit endpoint")
                continue
            _, port = endpoint_host_port(str(endpoint), 0)
            if port not in published:
                problems.append(
                    f"receiver {receiver} {protocol}: port {port} not published by {service_name}"
                )
    health_ports = {
        endpoint_host_port(str((defined["extensions"].get(e) or {}).get("endpoint", "")), 13133)[1]
        for e in health
    }
    probe_urls = [
        " ".join(_healthcheck_test(services[probe]) or [])
        for probe in _probes(services, service_name)
    ] + [" ".join(_healthcheck_test(service) or [])]
    if health and not any(f":{port}" in url for port in health_ports for url in probe_urls):
        problems.append(f"{service_name}: no healthcheck probes health_check port {health_ports}")
    return problems


# ---------------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE_FILE)


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    return load(COLLECTOR_FILE)


def check_jsonschema() -> str:
    beside_python = Path(sys.executable).with_name("check-jsonschema")
    found = str(beside_python) if beside_python.exists() else shutil.which("check-jsonschema")
    if found is None:
        pytest.fail("check-jsonschema is not installed (it is in the project's dev extra)")
    return found


def validate_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_file_matches_the_compose_spec() -> None:
    result = validate_compose_schema(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_an_invalid_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n  jaeger:\n    image: jaegertracing/jaeger:2.13.0\n    ports: 16686\n"
    )
    result = validate_compose_schema(broken)
    assert result.returncode != 0, result.stdout


def test_compose_file_is_sound(compose: dict[str, Any]) -> None:
    assert check_compose(compose) == []


def test_collector_config_is_sound(compose: dict[str, Any], collector: dict[str, Any]) -> None:
    assert check_collector_config(compose, collector) == []


def test_services_are_the_documented_stack(compose: dict[str, Any]) -> None:
    assert {"otel-collector", "jaeger", "phoenix"} <= set(compose["services"])


def pinned(path: Path, pattern: str) -> str:
    """The one version ``pattern`` (one group) finds in ``path``."""
    (version,) = re.findall(pattern, path.read_text(), flags=re.MULTILINE)
    return str(version)


def test_images_are_the_releases_the_tests_run(compose: dict[str, Any]) -> None:
    build = ROOT / ".ci" / "build-binaries"
    jaeger = pinned(build, r"^JAEGER_V2_VERSION=v(\S+)$")
    collector = pinned(build, r"^BUILDER_VERSION=v(\S+)$")
    phoenix = pinned(ROOT / "requirements-phoenix.txt", r"^arize-phoenix==(\S+)$")
    images = {name: service["image"] for name, service in compose["services"].items()}
    assert images["jaeger"] == f"jaegertracing/jaeger:{jaeger}"
    # The contrib image: our distribution has core components and contrib's health_check.
    assert images["otel-collector"] == f"otel/opentelemetry-collector-contrib:{collector}"
    assert images["phoenix"] == f"arizephoenix/phoenix:version-{phoenix}"
    builder = load(ROOT / "collector" / "builder-config.yaml")
    assert builder["dist"]["version"] == collector


def test_the_collector_tests_run_the_file_compose_mounts(compose: dict[str, Any]) -> None:
    found = _collector_service(compose)
    assert found is not None
    assert found[0] == "otel-collector"
    assert COLLECTOR_FILE == OTELCOL_TESTED_CONFIG  # what tests/sources/test_otelcol.py runs


def test_interpolation_defaults() -> None:
    assert with_defaults("${OTEL_BRIDGE_BIND:-127.0.0.1}:4318:4318") == "127.0.0.1:4318:4318"
    assert with_defaults("${UNSET}:4318:4318") == ":4318:4318"
    assert with_defaults("$$HOME ${A-x}") == "$HOME x"


Mutation = Callable[[dict[str, Any], dict[str, Any]], None]


def _services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _traces(collector: dict[str, Any]) -> dict[str, Any]:
    return collector["service"]["pipelines"]["traces"]


def _exporter(collector: dict[str, Any], kind: str) -> dict[str, Any]:
    (name,) = [name for name in collector["exporters"] if name.startswith(kind)]
    return collector["exporters"][name]


BROKEN: dict[str, tuple[Mutation, str]] = {
    "undefined exporter in pipeline": (
        lambda c, o: _traces(o)["exporters"].append("otlp_grpc/tempo"),
        "exporter 'otlp_grpc/tempo' undefined",
    ),
    "undefined processor in pipeline": (
        lambda c, o: _traces(o)["processors"].append("attributes/redact"),
        "processor 'attributes/redact' undefined",
    ),
    "undefined receiver in pipeline": (
        lambda c, o: _traces(o)["receivers"].append("zipkin"),
        "receiver 'zipkin' undefined",
    ),
    "memory_limiter after batch": (
        lambda c, o: _traces(o).update(processors=["batch", "memory_limiter"]),
        "memory_limiter is not the first processor",
    ),
    "exporter without sending_queue": (
        lambda c, o: _exporter(o, "otlp_http").pop("sending_queue"),
        "sending_queue not enabled",
    ),
    "exporter with its queue disabled": (
        lambda c, o: _exporter(o, "otlp_grpc")["sending_queue"].update(enabled=False),
        "sending_queue not enabled",
    ),
    "exporter without retries": (
        lambda c, o: _exporter(o, "otlp_grpc").pop("retry_on_failure"),
        "retry_on_failure not enabled",
    ),
    "exporter to a service that does not exist": (
        lambda c, o: _exporter(o, "otlp_grpc").update(endpoint="tempo:4317"),
        "'tempo' is not a compose service",
    ),
    "exporter to a port the service does not listen on": (
        lambda c, o: _exporter(o, "otlp_http").update(endpoint="http://phoenix:4318"),
        "phoenix does not listen on 4318",
    ),
    "receiver port not published": (
        lambda c, o: _services(c)["otel-collector"]["ports"].pop(0),
        "port 4317 not published",
    ),
    "config mounted but not loaded": (
        lambda c, o: _services(c)["otel-collector"].update(command=["--config=/other.yaml"]),
        "command does not load the mounted",
    ),
    "health_check extension not enabled": (
        lambda c, o: o["service"].update(extensions=[]),
        "health_check extension not enabled",
    ),
    "enabled extension undefined": (
        lambda c, o: o["service"]["extensions"].append("zpages"),
        "extension 'zpages' undefined",
    ),
    "probe checks the wrong port": (
        lambda c, o: o["extensions"]["health_check"].update(endpoint="0.0.0.0:13134"),
        "no healthcheck probes health_check port",
    ),
    "port on all interfaces": (
        lambda c, o: _services(c)["jaeger"].update(ports=["16686:16686"]),
        "binds to all interfaces",
    ),
    "bind address defaults to 0.0.0.0": (
        lambda c, o: _services(c)["phoenix"].update(
            ports=["${OTEL_BRIDGE_BIND:-0.0.0.0}:6006:6006"]
        ),
        "binds to 0.0.0.0",
    ),
    "long-syntax port without host_ip": (
        lambda c, o: _services(c)["jaeger"].update(ports=[{"target": 16686, "published": 16686}]),
        "binds to all interfaces",
    ),
    "image on latest": (
        lambda c, o: _services(c)["jaeger"].update(image="jaegertracing/jaeger:latest"),
        "is not pinned",
    ),
    "image without a tag": (
        lambda c, o: _services(c)["phoenix"].update(image="arizephoenix/phoenix"),
        "has no tag",
    ),
    "service without healthcheck": (
        lambda c, o: _services(c)["jaeger"].pop("healthcheck"),
        "jaeger: no healthcheck",
    ),
    "collector healthcheck disabled and no probe": (
        lambda c, o: _services(c).pop("otel-collector-health"),
        "otel-collector: no healthcheck",
    ),
    "depends_on an unknown service": (
        lambda c, o: _services(c)["otel-collector"]["depends_on"].update(
            tempo={"condition": "service_healthy"}
        ),
        "depends_on unknown service 'tempo'",
    ),
}


@pytest.mark.parametrize("mutation", list(BROKEN), ids=list(BROKEN))
def test_checkers_catch_broken_configs(
    compose: dict[str, Any], collector: dict[str, Any], mutation: str
) -> None:
    compose, collector = copy.deepcopy(compose), copy.deepcopy(collector)
    mutate, expected = BROKEN[mutation]
    mutate(compose, collector)
    problems = check_compose(compose) + check_collector_config(compose, collector)
    assert any(expected in problem for problem in problems), problems
