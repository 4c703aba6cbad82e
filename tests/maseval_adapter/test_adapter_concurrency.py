"""Many adapter runs at once, sharing one Telemetry and one agent: every run keeps its own data."""

from __future__ import annotations

import asyncio
import threading

from support.adapter_fixtures import (
    calc_agent,
    calc_replies,
    demo,
    demo_workflow,
    module_telemetry,
    scripted_server,
    usage_by_marker,
)

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter
from otel_bridge.scripted import ConversationRouter, Reply, ScriptedLLMServer, Usage

__all__ = ["module_telemetry", "scripted_server"]  # module fixtures, imported for pytest

THREADS = 4
RUNS_PER_THREAD = 3


def _marker(thread: int, run: int) -> str:
    return f"conv-{thread}-{run}"


def _router() -> ConversationRouter:
    conversations = {}
    for thread in range(THREADS):
        for run in range(RUNS_PER_THREAD):
            seed = 10 * thread + run
            replies = calc_replies(seed, 1, seed=seed)
            # a little latency so that runs of different threads overlap on the shared loop
            conversations[_marker(thread, run)] = [
                Reply(tool_calls=r.tool_calls, content=r.content, usage=r.usage, delay_s=0.005)
                for r in replies
            ]
    return ConversationRouter(conversations)


def _check(adapter: LlamaIndexAgentAdapter, marker: str, seed: int, truth: Usage) -> None:
    run = adapter.last_run
    assert run is not None and run.status == "ok"
    # calc_replies(seed, 1, seed=seed): (100 + seed) + (130 + seed) in, (10 + seed) + 7 out
    expected = (230 + 2 * seed, 17 + seed, seed)
    assert (run.usage.input_tokens, run.usage.output_tokens, run.usage.cached_input_tokens) == (
        expected
    )
    assert (truth.prompt, truth.completion, truth.cached) == expected  # what the server sent
    users = [m["content"] for m in adapter.get_messages() if m["role"] == "user"]
    assert users == [f"{marker}: what is {seed} + 1?"]
    (tool,) = run.tool_calls
    assert tool.arguments == {"a": seed, "b": 1} and tool.output == str(seed + 1)
    assert run.output == f"The sum is {seed + 1}."


def test_threads_sharing_one_telemetry_and_agent_each_get_their_own_runs(
    scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    router = _router()
    scripted_server.set_script(router)
    scripted_server.clear_log()
    agent = calc_agent(scripted_server)  # one agent object, one LLM, used by every thread
    finished: dict[str, tuple[LlamaIndexAgentAdapter, int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(thread: int) -> None:
        start.wait()
        try:
            for run in range(RUNS_PER_THREAD):
                marker, seed = _marker(thread, run), 10 * thread + run
                adapter = LlamaIndexAgentAdapter(agent, f"worker-{thread}", module_telemetry)
                adapter.run(f"{marker}: what is {seed} + 1?")
                finished[marker] = (adapter, seed)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    truth = usage_by_marker(scripted_server, router)
    assert len(finished) == len(truth) == THREADS * RUNS_PER_THREAD
    for marker, (adapter, seed) in finished.items():
        _check(adapter, marker, seed, truth[marker])
    runs = [adapter.last_run for adapter, _ in finished.values()]
    trace_ids = {run.trace_id for run in runs if run is not None}
    assert len(trace_ids) == len(finished)


async def test_concurrent_runs_from_inside_an_event_loop(
    scripted_server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    script = demo()
    conversations = {f"copy-{i} {script.user_msg}": list(script.replies) for i in range(3)}
    router = ConversationRouter(conversations)
    scripted_server.set_script(router)
    scripted_server.clear_log()
    adapters = [
        LlamaIndexAgentAdapter(demo_workflow(scripted_server), f"team-{i}", module_telemetry)
        for i in range(3)
    ]
    answers = await asyncio.gather(
        *(asyncio.to_thread(a.run, f"copy-{i} {script.user_msg}") for i, a in enumerate(adapters))
    )
    assert answers == [script.answer] * 3
    truth = usage_by_marker(scripted_server, router)
    for i, adapter in enumerate(adapters):
        run = adapter.last_run
        assert run is not None and run.usage.total_tokens == 2363  # the demo script's usage
        assert truth[f"copy-{i} {script.user_msg}"].total == 2363  # what the server sent
        assert [(h.from_agent, h.to_agent) for h in run.handoffs] == [("researcher", "writer")]
        assert run.input == f"copy-{i} {script.user_msg}"
