"""A real MASEval Benchmark over a two-agent LlamaIndex AgentWorkflow, measured from its spans.

Three tasks run on two worker threads (``num_workers=2``). Each task is a researcher that
searches its notes and hands off to a writer, who checks the length of the brief and answers.
The LLM is the scripted OpenAI-compatible server of otel-bridge, started here on 127.0.0.1, so
the example needs no API key; swap ``scripted_openai_llm`` for a real LLM to use it for real.

Every report's traces come from ``LlamaIndexAgentAdapter``: messages with every tool call,
per-agent token usage and the handoffs, all derived from OpenTelemetry spans. Set
``OTEL_EXPORTER_OTLP_ENDPOINT`` (e.g. a Phoenix at http://127.0.0.1:6006) to also see the runs
there: in the Phoenix project ``ResearchBriefBenchmark`` (the benchmark's name;
``OTEL_BRIDGE_PROJECT`` overrides it), grouped by ``session.id`` and labelled with the task id
and repetition.

    python examples/maseval_benchmark.py [--json] [--tables DIR] [--report DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
from llama_index.core.tools import FunctionTool
from maseval import AgentAdapter, Benchmark, Environment, Evaluator, ModelAdapter, Task, User
from maseval.core.callback import BenchmarkCallback
from maseval.core.seeding import SeedGenerator

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import (
    BenchmarkExport,
    LlamaIndexAgentAdapter,
    maseval_labels,
    project_telemetry,
)
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    scripted_openai_llm,
)

RESEARCHER_PROMPT = "You are the researcher. Search the notes, then hand off to the writer."
WRITER_PROMPT = "You are the writer. Write the brief; check its length with word_count first."
TOPICS = {
    "brief-traces": ("OpenTelemetry traces", "A trace is a tree of spans, one per operation."),
    "brief-tokens": ("token usage", "Each LLM span records prompt and completion tokens."),
    "brief-handoffs": ("agent handoffs", "A handoff is a tool call that passes control on."),
}


def query_of(task_id: str) -> str:
    """The user message of a task (it is also the scripted conversation's marker)."""
    return f"[{task_id}] Write a one-sentence brief about {TOPICS[task_id][0]}."


def answer_of(task_id: str) -> str:
    """The brief the writer ends a task with."""
    return f"In short: {TOPICS[task_id][1]}"


def scripted_conversations() -> ConversationRouter:
    """The LLM's side of every task: search, handoff, word_count, answer."""
    conversations = {}
    for n, task_id in enumerate(TOPICS):
        topic, _ = TOPICS[task_id]
        conversations[query_of(task_id)] = [
            Reply(
                agent="You are the researcher.",
                tool_calls=[ToolCallSpec("search", {"query": topic})],
                usage=Usage(prompt=300 + n, completion=20, cached=0),
            ),
            Reply(
                agent="You are the researcher.",
                tool_calls=[ToolCallSpec("handoff", {"to_agent": "writer", "reason": "Done."})],
                usage=Usage(prompt=380 + n, completion=25, cached=256),
            ),
            Reply(
                agent="You are the writer.",
                tool_calls=[ToolCallSpec("word_count", {"text": answer_of(task_id)})],
                usage=Usage(prompt=450 + n, completion=30, cached=0),
            ),
            Reply(
                agent="You are the writer.",
                content=answer_of(task_id),
                usage=Usage(prompt=500 + n, completion=22, cached=384),
            ),
        ]
    return ConversationRouter(conversations)


class NotesEnvironment(Environment):
    """The task's research notes, searchable by the researcher."""

    def setup_state(self, environment_data: dict[str, Any]) -> Any:
        """The notes of this task."""
        return {"notes": environment_data["notes"]}

    def create_tools(self) -> dict[str, Any]:
        """``search`` over the notes and ``word_count``."""
        notes = self.state["notes"]

        def search(query: str) -> str:
            """Search the research notes."""
            return f"Notes on {query}: {notes}"

        def word_count(text: str) -> int:
            """Count the words of a text."""
            return len(text.split())

        return {"search": search, "word_count": word_count}


class BriefEvaluator(Evaluator):
    """Right answer, a researcher -> writer handoff, and complete token counts."""

    def __init__(self, task: Task, environment: Environment, user: User | None = None) -> None:
        self.expected = task.evaluation_data["answer"]

    def filter_traces(self, traces: dict[str, Any]) -> dict[str, Any]:
        """Our adapter's traces."""
        return traces.get("agents", {}).get("team", {})

    def __call__(self, traces: dict[str, Any], final_answer: str | None = None) -> dict[str, Any]:
        """The checks, as a dict."""
        handoffs = [(h["from"], h["to"]) for h in traces.get("handoffs", [])]
        return {
            "answer_correct": final_answer == self.expected,
            "handed_off": handoffs == [("researcher", "writer")],
            "usage_complete": traces.get("usage", {}).get("complete", False),
        }


class ResearchBriefBenchmark(Benchmark):
    """Researcher -> writer briefs, one AgentWorkflow per task repetition."""

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
        """A fresh two-agent workflow, wrapped in the span-based adapter."""
        tools = environment.tools
        researcher = FunctionAgent(
            name="researcher",
            description="Finds facts in the notes.",
            system_prompt=RESEARCHER_PROMPT,
            tools=[FunctionTool.from_defaults(tools["search"], name="search")],
            llm=agent_data["llm"],
            can_handoff_to=["writer"],
        )
        writer = FunctionAgent(
            name="writer",
            description="Writes the brief.",
            system_prompt=WRITER_PROMPT,
            tools=[FunctionTool.from_defaults(tools["word_count"], name="word_count")],
            llm=agent_data["llm"],
            can_handoff_to=[],
        )
        workflow = AgentWorkflow(agents=[researcher, writer], root_agent="researcher")
        adapter = LlamaIndexAgentAdapter(
            workflow,
            "team",
            agent_data.get("telemetry"),  # None: the Telemetry of the project below
            project=type(self).__name__,  # the Phoenix project: the benchmark's name
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
        return [
            evaluator(evaluator.filter_traces(traces), final_answer) for evaluator in evaluators
        ]

    def get_model_adapter(self, model_id: str, **kwargs: Any) -> ModelAdapter:
        """Not used: the agents bring their own LlamaIndex LLM."""
        raise NotImplementedError("the agents of this benchmark use a LlamaIndex LLM")


def tasks() -> list[Task]:
    """The three briefs."""
    return [
        Task(
            id=task_id,
            query=query_of(task_id),
            environment_data={"notes": fact},
            evaluation_data={"answer": answer_of(task_id)},
        )
        for task_id, (_, fact) in TOPICS.items()
    ]


def run_benchmark(
    num_workers: int = 2,
    telemetry: Telemetry | None = None,
    callbacks: Sequence[BenchmarkCallback] = (),
) -> list[dict[str, Any]]:
    """Start the scripted LLM, run the benchmark, return MASEval's reports.

    Without ``telemetry`` the adapters use the Telemetry of the benchmark's Phoenix project,
    configured by the OTEL_* environment (in memory if none is set); it is shut down at the end,
    which sends every span still waiting. ``callbacks``: MASEval Benchmark callbacks, e.g.
    otel-bridge's ``BenchmarkExport`` (tables and an HTML report of every run).
    """
    with ScriptedLLMServer(scripted_conversations()) as server:
        try:
            benchmark = ResearchBriefBenchmark(
                callbacks=list(callbacks), num_workers=num_workers, progress_bar=False
            )
            agent_data = {"llm": scripted_openai_llm(server), "telemetry": telemetry}
            return benchmark.run(tasks=tasks(), agent_data=agent_data)
        finally:
            if telemetry is None:
                project_telemetry(ResearchBriefBenchmark.__name__).shutdown()


def summary(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per task: status, evaluation, per-agent tokens and handoffs (from span-derived traces)."""
    rows = []
    for report in sorted(reports, key=lambda r: r["task_id"]):
        team = report["traces"].get("agents", {}).get("team", {})
        rows.append(
            {
                "task_id": report["task_id"],
                "status": report["status"],
                "eval": report["eval"],
                "tokens_per_agent": {
                    name: stats["usage"]["total_tokens"]
                    for name, stats in team.get("agents", {}).items()
                },
                "handoffs": [f"{h['from']} -> {h['to']}" for h in team.get("handoffs", [])],
                "trace_ids": team.get("trace_ids", []),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; ``--json`` prints the full reports."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the full MASEval reports")
    parser.add_argument("--tables", metavar="DIR", help="write the runs as Parquet tables here")
    parser.add_argument("--report", metavar="DIR", help="write an HTML report of the runs here")
    args = parser.parse_args(argv)
    export = BenchmarkExport(args.tables, report_dir=args.report)
    reports = run_benchmark(callbacks=[export] if args.tables or args.report else [])
    if args.json:
        json.dump(reports, sys.stdout, indent=2, default=str)
        print()
    else:
        for row in summary(reports):
            print(json.dumps(row))
    for line in written(export, args.tables, args.report):
        print(line, file=sys.stderr)  # stdout stays JSON
    return 0 if all(r["status"] == "success" for r in reports) else 1


def written(export: BenchmarkExport, tables: str | None, report: str | None) -> list[str]:
    """Where the tables and the report went (or that they did not), in words."""
    if export.errors:
        return [f"Writing the tables or the report failed ({export.errors}); see the log above."]
    lines = []
    if tables:
        lines.append(
            f"Tables of the {export.runs} runs (Parquet) in {tables}/: runs, agents, llm_calls, "
            f"tool_calls, messages, handoffs (e.g. duckdb: SELECT * FROM '{tables}/runs/*.parquet')"
        )
    if report:
        lines.append(f"HTML report: {Path(report) / 'index.html'} (a page per run)")
    return lines


if __name__ == "__main__":
    sys.exit(main())
