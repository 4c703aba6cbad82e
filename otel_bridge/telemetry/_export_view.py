"""What we export for one trace, in each ``semconv`` mode: a plan of edits and new spans (pure).

The captured spans and derive() stay as they are; the exported copies read well in Jaeger and
Phoenix and derive to the same RunTrace. In every mode:

- the enrichment of ``_enrichment`` (agent names, handoff transfers, the run's input/answer);
- ``_prepare_chat_with_tools`` (an OpenInference LLM-kind span that calls no model) becomes a
  CHAIN span: Phoenix shows every LLM-kind span as a model call;
- a streaming LLM span ends when its call does (derived: the end of its step), not before the
  first token; the time to first token stays in its own event and in
  ``gen_ai.response.time_to_first_chunk``;
- the run's root span and the workflow span get the run's status: OK, or ERROR with the error.

Span names tell the story in a trace tree (Jaeger, Phoenix): which agent, which tool, which
handoff. ``openinference`` renames each agent step after its agent (``researcher.run_agent_step``;
the suffix derive reads stays) and each tool call after its agent and tool (``researcher.search``,
a handoff ``researcher.handoff → writer``). ``genai`` and ``both`` write the GenAI view
(``_genai_export``) and add an ``invoke_agent`` span per agent activation (``_agent_spans``);
``genai`` then drops the OpenInference attributes, ``both`` keeps them beside the GenAI ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes
from opentelemetry.semconv.attributes.exception_attributes import (
    EXCEPTION_MESSAGE,
    EXCEPTION_TYPE,
)

from .. import frameworks as fw
from ..conventions import genai_attributes as genai
from ..spans import SpanRecord, StatusName, freeze
from . import _genai_export as view_genai
from ._agent_spans import agent_spans
from ._enrichment import TraceView, analyse, enrichment

__all__ = ["SEMCONVS", "ExportPlan", "Semconv", "SpanEdit", "apply_plan", "export_plan"]

Semconv = Literal["openinference", "genai", "both"]
SEMCONVS: tuple[Semconv, ...] = ("openinference", "genai", "both")

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
LLM_KIND = OpenInferenceSpanKindValues.LLM.value
TOOL_KIND = OpenInferenceSpanKindValues.TOOL.value
CHAIN_KIND = OpenInferenceSpanKindValues.CHAIN.value
AGENT_KIND = OpenInferenceSpanKindValues.AGENT.value
WORKFLOW_RUN_SUFFIX = ".run"


@dataclass(slots=True)
class SpanEdit:
    """What changes in one exported span (None: unchanged)."""

    name: str | None = None
    kind: str | None = None  # "CLIENT", "INTERNAL", ... as in ``SpanRecord.kind``
    parent_id: int | None = None
    end_ns: int | None = None
    status: StatusName | None = None
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ExportPlan:
    """Edits by span id, new spans, and whether OpenInference attributes are dropped."""

    edits: dict[int, SpanEdit] = field(default_factory=dict)
    added: list[SpanRecord] = field(default_factory=list)
    drop_openinference: bool = False

    def edit(self, span_id: int) -> SpanEdit:
        """The edit of one span, created on first use."""
        edit = self.edits.get(span_id)
        if edit is None:
            edit = self.edits[span_id] = SpanEdit()
        return edit

    def attributes(self, original: dict[str, Any], span_id: int) -> dict[str, Any]:
        """A span's exported attributes: its own plus the edit's, minus dropped names."""
        edit = self.edits.get(span_id)
        merged = {**original, **edit.attributes} if edit is not None else dict(original)
        if self.drop_openinference:
            merged = {k: v for k, v in merged.items() if not view_genai.is_openinference_key(k)}
        return merged


def export_plan(
    records: Sequence[SpanRecord], semconv: Semconv = "openinference", content: bool = True
) -> ExportPlan:
    """The plan for one trace's export in the given mode (``content``: GenAI message content)."""
    if semconv not in SEMCONVS:
        raise ValueError(f"unknown semconv {semconv!r}")
    view = analyse(records)
    plan = ExportPlan(drop_openinference=semconv == "genai")
    for span_id, attrs in enrichment(view).items():
        plan.edit(span_id).attributes.update(attrs)
    _no_phantom_calls(view, plan)
    _streaming_ends(view, plan)
    _run_status(view, plan)
    if semconv == "openinference":
        _name_steps(view, plan)
        _name_tools(view, plan)
    else:
        _genai_view(view, plan, content)
        new = agent_spans(view, content, openinference=semconv == "both")
        plan.added.extend(new.spans)
        for child, parent in new.parents.items():
            plan.edit(child).parent_id = parent
    return plan


def apply_plan(records: Sequence[SpanRecord], plan: ExportPlan) -> list[SpanRecord]:
    """The exported records: each edited as planned, then the new spans."""
    out = []
    for record in records:
        edit = plan.edits.get(record.span_id)
        attrs = plan.attributes(dict(record.attributes), record.span_id)
        if edit is None:
            out.append(dataclasses.replace(record, attributes=freeze(attrs)))
            continue
        out.append(
            dataclasses.replace(
                record,
                name=edit.name or record.name,
                kind=edit.kind or record.kind,
                parent_id=edit.parent_id if edit.parent_id is not None else record.parent_id,
                end_ns=edit.end_ns if edit.end_ns is not None else record.end_ns,
                status=edit.status or record.status,
                status_message=edit.status_message if edit.status else record.status_message,
                attributes=freeze(attrs),
            )
        )
    return out + list(plan.added)


# ---- every mode -----------------------------------------------------------------------------


def _no_phantom_calls(view: TraceView, plan: ExportPlan) -> None:
    """LLM-kind spans that call no model (tool preparation) are exported as CHAIN spans."""
    for span in view.index.spans:
        if span.attributes.get(KIND) == LLM_KIND and not fw.is_model_call(span):
            plan.edit(span.span_id).attributes[KIND] = CHAIN_KIND


def _streaming_ends(view: TraceView, plan: ExportPlan) -> None:
    """A call whose span ended early (a stream) is exported lasting as long as the call.

    Its time to first token stays visible on its own: the first-token event is kept and
    ``gen_ai.response.time_to_first_chunk`` (seconds) says it in every mode.
    """
    for call in view.run.llm_calls:
        span = view.span_of(call)
        if span is None:
            continue
        if call.end_ns > span.end_ns:
            plan.edit(span.span_id).end_ns = call.end_ns
        if call.time_to_first_token_ns is not None:
            ttft = call.time_to_first_token_ns / 1e9
            plan.edit(span.span_id).attributes[genai.TIME_TO_FIRST_CHUNK] = ttft


def _run_status(view: TraceView, plan: ExportPlan) -> None:
    """The run's root span and the workflow span say how the run ended."""
    failed = view.run.status == "error"
    message = _error_message(view) if failed else ""
    for span in {
        view.workflow.span_id: view.workflow,
        **{r.span_id: r for r in view.index.roots},
    }.values():
        if failed and span.status != "ERROR":
            edit = plan.edit(span.span_id)
            edit.status, edit.status_message = "ERROR", message
        elif not failed and span.status == "UNSET":
            plan.edit(span.span_id).status = "OK"


def _error_message(view: TraceView) -> str:
    """What failed: the first error recorded on the root, the workflow or a failed call."""
    failed_calls = [view.span_of(c) for c in view.run.llm_calls if c.status == "error"]
    for span in [*view.index.roots, view.workflow, *reversed(failed_calls)]:
        if span is None or span.status != "ERROR":
            continue
        for event in span.events:
            text = event.attributes.get(EXCEPTION_MESSAGE)
            if text is not None:
                kind = event.attributes.get(EXCEPTION_TYPE)
                return f"{kind}: {text}" if kind else str(text)
        if span.status_message:
            return span.status_message
    return "the run failed"


def _name_steps(view: TraceView, plan: ExportPlan) -> None:
    """``AgentWorkflow.run_agent_step`` -> ``researcher.run_agent_step`` (OpenInference spans)."""
    for step in view.steps:
        agent = view.agents.get(step.span_id)
        if agent and KIND in step.attributes:
            plan.edit(step.span_id).name = f"{agent}.{step.name.rsplit('.', 1)[-1]}"


def _name_tools(view: TraceView, plan: ExportPlan) -> None:
    """``FunctionTool.acall`` -> ``researcher.search`` / ``researcher.handoff → writer``.

    The tool's name is kept in ``tool.name`` (derive reads the span name only without it).
    """
    for tool in view.run.tool_calls:
        span = view.span_of(tool)
        if span is None or span.attributes.get(KIND) != TOOL_KIND or not tool.agent:
            continue
        edit = plan.edit(span.span_id)
        edit.name = f"{tool.agent}.{tool_label(tool.name, view.handoff_targets.get(span.span_id))}"
        if SpanAttributes.TOOL_NAME not in span.attributes:
            edit.attributes[SpanAttributes.TOOL_NAME] = tool.name


def tool_label(name: str, target: str | None) -> str:
    """A tool call's name in a span name: ``search``, or ``handoff → writer``."""
    return f"{name} → {target}" if target else name


# ---- genai and both --------------------------------------------------------------------------


def _genai_view(view: TraceView, plan: ExportPlan, content: bool) -> None:
    """GenAI names, kinds and attributes on the OpenInference calls, tools and workflow."""
    for call in view.run.llm_calls:
        span = view.span_of(call)
        if span is None or span.attributes.get(KIND) != LLM_KIND:
            continue  # already GenAI, or another convention: left as it is
        edit = plan.edit(span.span_id)
        edit.name = f"{genai.OP_CHAT} {call.model}" if call.model else genai.OP_CHAT
        edit.kind = "CLIENT"
        edit.attributes.update(view_genai.chat_attributes(view, call, span, content))
    for tool in view.run.tool_calls:
        span = view.span_of(tool)
        if span is None or span.attributes.get(KIND) != TOOL_KIND:
            continue
        edit = plan.edit(span.span_id)
        target = view.handoff_targets.get(span.span_id)
        edit.name = f"{genai.OP_EXECUTE_TOOL} {tool_label(tool.name, target)}"
        edit.attributes.update(view_genai.tool_attributes(tool, span, content))
    for span in view.index.spans:
        # A framework's own activation spans (an OpenAI Agents SDK or smolagents agent run)
        # are the agent's ``invoke_agent`` span.
        agent = fw.activation_agent(span) if span.attributes.get(KIND) == AGENT_KIND else None
        if agent is not None:
            edit = plan.edit(span.span_id)
            edit.name = f"{genai.OP_INVOKE_AGENT} {agent}"
            edit.attributes.update(
                {genai.OPERATION: genai.OP_INVOKE_AGENT, genai.AGENT_NAME: agent}
            )
    workflow = view.workflow
    if view.steps and view.index.parent(view.steps[0]) is workflow:
        name = workflow.name.removesuffix(WORKFLOW_RUN_SUFFIX)
        edit = plan.edit(workflow.span_id)
        edit.name = f"{genai.OP_INVOKE_WORKFLOW} {name}"
        edit.attributes.update(view_genai.workflow_attributes(view, name, content))
