"""``python -m otel_bridge.cli``: the ``otel-bridge`` command."""

from ._main import main

main(prog_name="otel-bridge")
