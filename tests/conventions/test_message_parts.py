"""Messages sent as content parts (``message.contents``): images and audio carry no text, and
the text around them is kept whole.

On hand-built records, then through a real agent whose user message holds an image and an
audio clip: OpenInference writes an image part as ``type``/``image.image.url`` attributes and
an audio part as nothing at all (its index is skipped).
"""

from __future__ import annotations

import base64

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.llms import AudioBlock, ChatMessage, ImageBlock, TextBlock
from support.records import TraceBuilder, assistant
from support.runs import traced_run

from otel_bridge import Telemetry, derive
from otel_bridge.scripted import Reply, ScriptedLLMServer, Usage, scripted_openai_llm

PIXEL_URL = "data:image/png;base64,iVBORw0KGgo="
IMAGE_PART = {"type": "image", "image.image.url": PIXEL_URL}
# One red pixel: a real PNG, so the client can encode it as it would a photo.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WAV_HEADER = b"RIFF\x24\x00\x00\x00WAVEfmt "


def user_content(parts: list[object]) -> list[tuple[str, str]]:
    """Role and content of the messages derived from one call whose user message is ``parts``."""
    b = TraceBuilder()
    root = b.root()
    b.llm(b.step(root, "eye", 0, 50), 1, 10, [{"role": "user", "parts": parts}], [assistant("A.")])
    return [(m["role"], m["content"]) for m in derive(b.spans).messages]


def test_an_image_part_between_texts_leaves_both_texts() -> None:
    assert user_content(["What is in this picture?", IMAGE_PART, "Answer briefly."]) == [
        ("user", "What is in this picture?\nAnswer briefly."),
        ("assistant", "A."),
    ]


def test_a_message_of_only_an_image_is_kept_with_empty_text() -> None:
    assert user_content([IMAGE_PART]) == [("user", ""), ("assistant", "A.")]


def test_an_audio_part_written_as_a_type_only_is_skipped() -> None:
    audio = {"type": "audio"}
    assert user_content(["Transcribe:", audio, "then summarise."]) == [
        ("user", "Transcribe:\nthen summarise."),
        ("assistant", "A."),
    ]


def test_a_part_with_no_attributes_loses_no_text_after_it() -> None:
    """What OpenInference writes for an audio part: nothing, its index skipped."""
    assert user_content(["Transcribe:", None, "then summarise."]) == [
        ("user", "Transcribe:\nthen summarise."),
        ("assistant", "A."),
    ]


async def test_a_real_agent_sent_an_image_keeps_the_question(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    llm.set_script([Reply(content="A red pixel.", usage=Usage(85, 4))])
    agent = FunctionAgent(name="eye", tools=[], llm=scripted_openai_llm(llm, include_usage=True))
    question = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What is in this picture?"),
            ImageBlock(image=PNG, image_mimetype="image/png"),
            TextBlock(text="Answer briefly."),
        ],
    )
    answer, trace = await traced_run(telemetry, lambda: agent.run(user_msg=question))

    assert str(answer) == "A red pixel."
    (sent,) = llm.log[0].request_json["messages"]
    assert [part["type"] for part in sent["content"]] == ["text", "image_url", "text"]
    assert [(m["role"], m["content"]) for m in trace.messages] == [
        ("user", "What is in this picture?\nAnswer briefly."),
        ("assistant", "A red pixel."),
    ]
    assert trace.input == "What is in this picture?\nAnswer briefly."
    assert (trace.usage.input_tokens, trace.issues) == (85, [])


async def test_a_real_agent_sent_audio_keeps_the_text_after_it(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    llm.set_script([Reply(content="A short beep.", usage=Usage(60, 4))])
    agent = FunctionAgent(name="ear", tools=[], llm=scripted_openai_llm(llm, include_usage=True))
    question = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What do you hear?"),
            AudioBlock(audio=WAV_HEADER, format="wav"),
            TextBlock(text="One sentence, please."),
        ],
    )
    answer, trace = await traced_run(telemetry, lambda: agent.run(user_msg=question))

    assert str(answer) == "A short beep."
    (sent,) = llm.log[0].request_json["messages"]
    assert [part["type"] for part in sent["content"]] == ["text", "input_audio", "text"]
    assert trace.input == "What do you hear?\nOne sentence, please."


@pytest.mark.parametrize("line_break", [False, True], ids=["keys as text", "key by key"])
def test_keys_a_producer_got_wrong_leave_the_parts_as_they_are(line_break: bool) -> None:
    """Part keys with a seven-digit index or a superscript digit (and one with a line break,
    which has the keys read one by one): the text of the real parts is read as before, and
    nothing raises."""
    base = "llm.input_messages.0.message.contents"
    odd = {
        f"{base}.1234567.message_content.text": "too long an index",
        f"{base}.\u00b2.message_content.text": "superscript two",
        "llm.input_messages.\u00b2.message.role": "user",
        "llm.input_messages.\u00b2.message.contents.0.message_content.text": "superscript two",
    }
    if line_break:
        odd[f"{base}.1.message_content.text\nx"] = "line break"
    b = TraceBuilder()
    root = b.root()
    b.llm(
        b.step(root, "eye", 0, 50),
        1,
        10,
        [{"role": "user", "parts": ["Transcribe:", None, "then summarise."]}],
        [assistant("A.")],
        extra=odd,
    )
    assert [(m["role"], m["content"]) for m in derive(b.spans).messages] == [
        ("user", "Transcribe:\nthen summarise."),
        ("assistant", "A."),
    ]
