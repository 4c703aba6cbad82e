"""One task, four frameworks: the same researcher -> writer team in LlamaIndex, smolagents,
LangGraph and the OpenAI Agents SDK, run as one MASEval Benchmark and measured from its spans.

The researcher searches its notes and passes the work to the writer, who checks the length of
the brief with ``word_count`` and answers. Each framework does it its own way:

    llama_index    AgentWorkflow: the researcher hands off to the writer (``handoff``)
    smolagents     the writer is the researcher's managed agent: a delegation, then control
                   comes back to the researcher, who gives the final answer
    langgraph      a langgraph-swarm: the researcher hands off (``transfer_to_writer``)
    openai_agents  ``Agent(handoffs=[writer])``: a handoff (``transfer_to_writer``)

Every run is derived from OpenTelemetry spans by otel-bridge's MASEval adapters; the whole
benchmark becomes one set of Parquet tables (with a ``framework`` column) and one HTML report
(a page per run, linked from an index), and the command prints the table per framework.

By default the model is otel-bridge's scripted OpenAI-compatible server, started here on
127.0.0.1 (no API key needed; its token counts are estimated from what each request sends).
Any OpenAI-compatible endpoint works instead:

    python examples/cross_framework.py [--out DIR]
    OPENAI_API_KEY=... python examples/cross_framework.py --base-url https://api.openai.com/v1 \\
        --model gpt-4o-mini
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from maseval import AgentAdapter, Benchmark, Environment, Evaluator, ModelAdapter, Task, User
from maseval.core.seeding import SeedGenerator

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import (
    BenchmarkExport,
    LangGraphAgentAdapter,
    LlamaIndexAgentAdapter,
    OpenAIAgentsAdapter,
    SmolAgentAdapter,
    maseval_labels,
    project_telemetry,
)
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    estimate_usage,
)
from otel_bridge.tables import read_export

FRAMEWORKS = ("llama_index", "smolagents", "langgraph", "openai_agents")
TEAM_NAMES = {
    "llama_index": "LlamaIndex",
    "smolagents": "smolagents",
    "langgraph": "LangGraph",
    "openai_agents": "OpenAI Agents SDK",
}
QUERY = "Write a one-sentence brief about OpenTelemetry traces."
NOTES = "A trace is a tree of spans, one per operation of a request."


def researcher_prompt(framework: str) -> str:
    """The researcher's instructions (its team's name tells the scripted model who asks)."""
    return (
        f"You are the researcher of the {TEAM_NAMES[framework]} team. Search the notes with the "
        "search tool, then pass the facts you found to the writer."
    )


def writer_prompt(framework: str) -> str:
    """The writer's instructions."""
    return (
        f"You are the writer of the {TEAM_NAMES[framework]} team. Write the brief in one "
        "sentence; check its length with the word_count tool before you answer with it."
    )


@dataclass(frozen=True)
class Endpoint:
    """Where the model is: an OpenAI-compatible base URL, a model name and a key."""

    base_url: str
    model: str = "gpt-4o-mini"
    api_key: str = "scripted"


# ---------------------------------------------------------------------------- the environment


class NotesEnvironment(Environment):
    """The research notes, and the two tools every team uses (plain functions)."""

    def setup_state(self, environment_data: dict[str, Any]) -> Any:
        """The notes of this task."""
        return {"notes": environment_data["notes"]}

    def create_tools(self) -> dict[str, Any]:
        """``search`` over the notes and ``word_count``."""
        notes = self.state["notes"]

        def search(query: str) -> str:
            """Search the research notes.

            Args:
                query: what to look for
            """
            return f"Notes on {query}: {notes}"

        def word_count(text: str) -> int:
            """Count the words of a text.

            Args:
                text: the text to count
            """
            return len(text.split())

        return {"search": search, "word_count": word_count}


# ---------------------------------------------------------------------------- the four teams
# Each builds the same two agents the way its framework would, and wraps them in otel-bridge's
# span-derived MASEval adapter for that framework (all named "team").

Tools = Mapping[str, Callable[..., Any]]


def llama_index_team(endpoint: Endpoint, tools: Tools, **labels: Any) -> AgentAdapter:
    """An AgentWorkflow of two FunctionAgents; the researcher hands off to the writer."""
    from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
    from llama_index.core.tools import FunctionTool

    llm = llama_index_llm(endpoint)
    researcher = FunctionAgent(
        name="researcher",
        description="Finds facts in the notes.",
        system_prompt=researcher_prompt("llama_index"),
        tools=[FunctionTool.from_defaults(tools["search"])],
        llm=llm,
        can_handoff_to=["writer"],
    )
    writer = FunctionAgent(
        name="writer",
        description="Writes the brief.",
        system_prompt=writer_prompt("llama_index"),
        tools=[FunctionTool.from_defaults(tools["word_count"])],
        llm=llm,
        can_handoff_to=[],  # as in the other teams, the writer does not hand back
    )
    workflow = AgentWorkflow(agents=[researcher, writer], root_agent="researcher")
    return LlamaIndexAgentAdapter(workflow, "team", **labels)


def llama_index_llm(endpoint: Endpoint) -> Any:
    """LlamaIndex's OpenAI client; for a model it does not know, its OpenAI-compatible one."""
    from llama_index.llms.openai import OpenAI
    from llama_index.llms.openai.utils import ALL_AVAILABLE_MODELS

    if endpoint.model in ALL_AVAILABLE_MODELS:
        return OpenAI(model=endpoint.model, api_base=endpoint.base_url, api_key=endpoint.api_key)
    from llama_index.llms.openai_like import OpenAILike  # pip install llama-index-llms-openai-like

    return OpenAILike(
        model=endpoint.model,
        api_base=endpoint.base_url,
        api_key=endpoint.api_key,
        is_chat_model=True,
        is_function_calling_model=True,
        context_window=32768,
    )


def smolagents_team(endpoint: Endpoint, tools: Tools, **labels: Any) -> AgentAdapter:
    """A ToolCallingAgent researcher managing a writer agent (a delegation)."""
    from smolagents import OpenAIServerModel, ToolCallingAgent, tool

    model = OpenAIServerModel(
        model_id=endpoint.model, api_base=endpoint.base_url, api_key=endpoint.api_key
    )
    writer = ToolCallingAgent(
        tools=[tool(tools["word_count"])],
        model=model,
        name="writer",
        description="Writes the brief from the facts it is given.",
        instructions=writer_prompt("smolagents"),
        verbosity_level=0,
    )
    researcher = ToolCallingAgent(
        tools=[tool(tools["search"])],
        model=model,
        managed_agents=[writer],
        name="researcher",
        instructions=researcher_prompt("smolagents"),
        verbosity_level=0,
    )
    return SmolAgentAdapter(researcher, "team", max_steps=6, **labels)


def langgraph_team(endpoint: Endpoint, tools: Tools, **labels: Any) -> AgentAdapter:
    """A langgraph-swarm of two agents; the researcher transfers to the writer."""
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langgraph_swarm import create_handoff_tool, create_swarm

    model = ChatOpenAI(
        model=endpoint.model,
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,  # type: ignore[arg-type]
        stream_usage=True,
    )
    researcher = create_agent(
        model,
        [tool(tools["search"]), create_handoff_tool(agent_name="writer")],
        system_prompt=researcher_prompt("langgraph"),
        name="researcher",
    )
    writer = create_agent(
        model, [tool(tools["word_count"])], system_prompt=writer_prompt("langgraph"), name="writer"
    )
    swarm = create_swarm([researcher, writer], default_active_agent="researcher").compile()
    return LangGraphAgentAdapter(swarm, "team", **labels)


def openai_agents_team(endpoint: Endpoint, tools: Tools, **labels: Any) -> AgentAdapter:
    """Two SDK agents; the researcher has ``handoffs=[writer]``."""
    from agents import Agent, OpenAIChatCompletionsModel, function_tool
    from openai import AsyncOpenAI

    # otel-bridge's Telemetry puts OpenInference's processor in place of the SDK's own trace
    # exporter (which would send the runs to OpenAI): never set_tracing_disabled(True) here.
    client = AsyncOpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
    model = OpenAIChatCompletionsModel(model=endpoint.model, openai_client=client)
    writer = Agent(
        name="writer",
        instructions=writer_prompt("openai_agents"),
        tools=[function_tool(tools["word_count"])],
        model=model,
    )
    researcher = Agent(
        name="researcher",
        instructions=researcher_prompt("openai_agents"),
        tools=[function_tool(tools["search"])],
        handoffs=[writer],
        model=model,
    )
    return OpenAIAgentsAdapter(researcher, "team", max_turns=8, **labels)


TEAMS: dict[str, Callable[..., AgentAdapter]] = {
    "llama_index": llama_index_team,
    "smolagents": smolagents_team,
    "langgraph": langgraph_team,
    "openai_agents": openai_agents_team,
}


# ---------------------------------------------------------------------------- the benchmark


class BriefEvaluator(Evaluator):
    """Did the team search, reach the writer, count the words and answer?"""

    def __init__(self, task: Task, environment: Environment, user: User | None = None) -> None:
        pass

    def filter_traces(self, traces: dict[str, Any]) -> dict[str, Any]:
        """Our adapter's traces."""
        return traces.get("agents", {}).get("team", {})

    def __call__(self, traces: dict[str, Any], final_answer: str | None = None) -> dict[str, Any]:
        """The checks, as a dict."""
        tools = [m.get("name") for m in traces.get("messages", []) if m["role"] == "tool"]
        reached = traces.get("handoffs", []) + traces.get("delegations", [])
        return {
            "searched": "search" in tools,
            "writer_reached": any(link["to"] == "writer" for link in reached),
            "words_counted": "word_count" in tools,
            "answered": bool(final_answer and final_answer.strip()),
        }


class CrossFrameworkBenchmark(Benchmark):
    """The research brief, once per framework (the task's ``metadata["framework"]``)."""

    def setup_environment(
        self, agent_data: dict[str, Any], task: Task, seed_generator: SeedGenerator
    ) -> Environment:
        """The task's notes."""
        return NotesEnvironment(task.environment_data)

    def setup_user(
        self,
        agent_data: dict[str, Any],
        environment: Environment,
        task: Task,
        seed_generator: SeedGenerator,
    ) -> User | None:
        """No simulated user: one query per task."""
        return None

    def setup_agents(
        self,
        agent_data: dict[str, Any],
        environment: Environment,
        task: Task,
        user: User | None,
        seed_generator: SeedGenerator,
    ) -> tuple[Sequence[AgentAdapter], dict[str, AgentAdapter]]:
        """The task's framework's team, in otel-bridge's adapter for it."""
        build = TEAMS[task.metadata["framework"]]
        adapter = build(
            agent_data["endpoint"],
            environment.tools,
            telemetry=agent_data.get("telemetry"),
            project=type(self).__name__,  # with no telemetry: the OTEL_* environment's
            **maseval_labels(task, seed_generator),
        )
        return [adapter], {"team": adapter}

    def setup_evaluators(
        self,
        environment: Environment,
        task: Task,
        agents: Sequence[AgentAdapter],
        user: User | None,
        seed_generator: SeedGenerator,
    ) -> Sequence[Evaluator]:
        """One evaluator."""
        return [BriefEvaluator(task, environment, user)]

    def run_agents(
        self, agents: Sequence[AgentAdapter], task: Task, environment: Environment, query: str
    ) -> Any:
        """Run the team once."""
        return agents[0].run(query)

    def evaluate(
        self,
        evaluators: Sequence[Evaluator],
        agents: dict[str, AgentAdapter],
        final_answer: Any,
        traces: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Every evaluator on its slice of the traces."""
        return [e(e.filter_traces(traces), final_answer) for e in evaluators]

    def get_model_adapter(self, model_id: str, **kwargs: Any) -> ModelAdapter:
        """Not used: each framework brings its own model client."""
        raise NotImplementedError("the agents of this benchmark bring their own model clients")


def tasks(frameworks: Sequence[str] = FRAMEWORKS) -> list[Task]:
    """The same brief once per framework."""
    return [
        Task(
            id=f"brief-{framework}",
            query=QUERY,
            environment_data={"notes": NOTES},
            metadata={"framework": framework},
        )
        for framework in frameworks
    ]


def run_benchmark(
    endpoint: Endpoint,
    out: Path,
    frameworks: Sequence[str] = FRAMEWORKS,
    repetitions: int = 1,
    telemetry: Telemetry | None = None,
) -> tuple[list[dict[str, Any]], BenchmarkExport]:
    """Run each framework's team ``repetitions`` times; tables in ``out/tables``, the report
    in ``out/report``. One worker: the frameworks take turns, so their wall times are not
    measured on shared cores.
    """
    out.mkdir(parents=True, exist_ok=True)
    export = BenchmarkExport(
        out / "tables", report_dir=out / "report", title="One task, four frameworks"
    )
    benchmark = CrossFrameworkBenchmark(
        callbacks=[export], n_task_repeats=repetitions, num_workers=1, progress_bar=False
    )
    agent_data = {"endpoint": endpoint, "telemetry": telemetry}
    try:
        reports = benchmark.run(tasks=tasks(frameworks), agent_data=agent_data)
    finally:
        if telemetry is None:  # send every span still waiting, where OTEL_* says
            project_telemetry(CrossFrameworkBenchmark.__name__).shutdown()
    return reports, export


# ---------------------------------------------------------------------------- the table

COLUMNS = (  # (header, runs-table column, width)
    ("LLM", "llm_calls", 4),
    ("tools", "tool_calls", 6),
    ("handoffs", "handoffs", 9),
    ("deleg.", "delegations", 7),
    ("input", "input_tokens", 7),
    ("cached", "cached_input_tokens", 7),
    ("output", "output_tokens", 7),
    ("cost $", "cost_usd", 10),
    ("wall s", "wall_s", 7),
)


def per_framework(tables: Path) -> dict[str, dict[str, float | None]]:
    """The median of each column over a framework's runs, read back from the Parquet tables.

    The median, so that a first run paying for one-time imports does not count as the
    framework's speed. A value the runs table does not know (null: tokens or a price missing)
    makes the median unknown (None), never a smaller number.
    """
    runs: dict[str, list[dict[str, Any]]] = {}
    for run in read_export(tables, tables=["runs"])["runs"]:
        runs.setdefault(str(run["framework"]), []).append(run)
    return {
        framework: {
            column: None
            if any(run[column] is None for run in group)
            else statistics.median(run[column] for run in group)
            for _, column, _ in COLUMNS
        }
        for framework, group in sorted(runs.items(), key=lambda item: _order(item[0]))
    }


def _order(framework: str) -> int:
    return FRAMEWORKS.index(framework) if framework in FRAMEWORKS else len(FRAMEWORKS)


def _cell(column: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if column == "cost_usd":
        return f"{value:.6f}"
    if column == "wall_s":
        return f"{value:.2f}"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def render(table: Mapping[str, Mapping[str, float | None]]) -> str:
    """The table per framework as text, 80 columns wide ("n/a": unknown)."""
    lines = ["framework    " + "".join(f"{header:>{width}}" for header, _, width in COLUMNS)]
    for framework, row in table.items():
        cells = "".join(f"{_cell(column, row[column]):>{width}}" for _, column, width in COLUMNS)
        lines.append(f"{framework:<13}{cells}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the scripted model
# What the model says in each framework's run. A conversation is found by a marker in the
# system prompt; its reply N answers a request that already carries N assistant messages. In
# LlamaIndex, LangGraph and the OpenAI Agents SDK the writer is sent the researcher's turns
# too, so the team is one conversation; a smolagents managed agent starts a memory of its own.

BRIEF = NOTES  # the writer's one sentence


def scripted_conversations() -> ConversationRouter:
    """Each framework's run: search, the handoff or delegation, word_count, the answer."""
    search = ToolCallSpec("search", {"query": "OpenTelemetry traces"})
    count = ToolCallSpec("word_count", {"text": BRIEF})

    def team(handoff: ToolCallSpec) -> list[Reply]:
        return [
            Reply(agent="You are the researcher", tool_calls=[search]),
            Reply(agent="You are the researcher", tool_calls=[handoff]),
            Reply(agent="You are the writer", tool_calls=[count]),
            Reply(agent="You are the writer", content=BRIEF),
        ]

    def final(answer: str) -> Reply:  # smolagents ends a run by calling final_answer
        return Reply(tool_calls=[ToolCallSpec("final_answer", {"answer": answer})])

    task = f"Write a one-sentence brief about OpenTelemetry traces from these notes: {NOTES}"
    return ConversationRouter(
        {
            "of the LlamaIndex team": team(
                ToolCallSpec("handoff", {"to_agent": "writer", "reason": "The notes are in."})
            ),
            "of the LangGraph team": team(ToolCallSpec("transfer_to_writer", {})),
            "of the OpenAI Agents SDK team": team(ToolCallSpec("transfer_to_writer", {})),
            "researcher of the smolagents team": [
                Reply(tool_calls=[search]),
                Reply(tool_calls=[ToolCallSpec("writer", {"task": task})]),
                final(BRIEF),
            ],
            "writer of the smolagents team": [Reply(tool_calls=[count]), final(BRIEF)],
        }
    )


class PromptCache:
    """The scripted model's usage: estimated from each request, with OpenAI-style prompt caching.

    Input tokens are about one per 4 characters of the request's tools and messages; a request
    whose start repeats an earlier request's (at least 1,024 tokens of it) is served that much
    from the cache, in steps of 128 tokens, as OpenAI's prompt caching reports it.
    """

    def __init__(self, router: ConversationRouter) -> None:
        self.router = router
        self._seen: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: Mapping[str, Any]) -> Reply:
        """The router's reply, with its usage."""
        reply = self.router(request)
        usage = estimate_usage(request, reply)
        prompt = _prompt_text(request)
        with self._lock:
            shared = max((_common_prefix(prompt, seen) for seen in self._seen), default=0)
            self._seen.append(prompt)
        cached = shared // 4 // 128 * 128 if shared // 4 >= 1024 else 0
        return replace(reply, usage=Usage(usage.prompt, usage.completion, cached=cached))


def _prompt_text(request: Mapping[str, Any]) -> str:
    return json.dumps(request.get("tools") or []) + json.dumps(request.get("messages") or [])


def _common_prefix(a: str, b: str) -> int:
    """How many characters two texts share from their start."""
    for n, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return n
    return min(len(a), len(b))


# ---------------------------------------------------------------------------- the command


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the tables and the report, print the table per framework."""
    parser = argparse.ArgumentParser(
        description="The researcher -> writer task in four frameworks, as one MASEval Benchmark."
    )
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint (default: scripted)")
    parser.add_argument("--model", default="gpt-4o-mini", help="the model name (gpt-4o-mini)")
    parser.add_argument("--out", default="cross_framework", help="output directory")
    parser.add_argument("--repetitions", type=int, default=1, help="runs per framework (1)")
    parser.add_argument(
        "--framework", action="append", choices=FRAMEWORKS, help="only this one (repeatable)"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.repetitions < 1:
        parser.error("--repetitions must be 1 or more")
    if (out / "tables").exists() or (out / "report").exists():
        parser.error(f"{out} already holds tables or a report: choose another --out")
    frameworks = [f for f in FRAMEWORKS if f in (args.framework or FRAMEWORKS)]
    if args.base_url:
        key = os.environ.get("OPENAI_API_KEY", "")
        endpoint = Endpoint(args.base_url, args.model, key)
        reports, export = run_benchmark(endpoint, out, frameworks, args.repetitions)
    else:
        with ScriptedLLMServer(PromptCache(scripted_conversations())) as server:
            endpoint = Endpoint(server.base_url, args.model)
            reports, export = run_benchmark(endpoint, out, frameworks, args.repetitions)
    if export.errors:
        print("Writing the tables or the report failed; see the log above.", file=sys.stderr)
        return 1
    print(f"Per run (median of {args.repetitions}), from the runs table:")
    print(render(per_framework(out / "tables")))
    print(f"\nTables (Parquet, with a framework column): {out / 'tables'}/")
    print(f"HTML report, a page per run: {out / 'report' / 'index.html'}")
    failed = [r["task_id"] for r in reports if r["status"] != "success"]
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
