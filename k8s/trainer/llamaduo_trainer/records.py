"""Reads the pipeline's JSONL datasets into chat conversations.

Two record shapes are accepted on any line:
  split records   {id, category, instruction, context, response}  (the ingest activity's train/test split)
  chat records    {id?, messages: [{role, content}, ...]}          (synthetic data)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .errors import SpecError

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Conversation:
    id: str
    messages: list[dict[str, str]]


def _prompt_text(instruction: str, context: str) -> str:
    return f"{instruction}\n\n{context}" if context else instruction


def _require_str(path: str, line: int, record: dict, field: str, allow_empty: bool = False) -> str:
    value = record.get(field)
    if not isinstance(value, str):
        raise SpecError(path, f"must be a string, got {type(value).__name__}", line=line, field=field)
    if not allow_empty and not value.strip():
        raise SpecError(path, "must not be empty", line=line, field=field)
    return value


def _from_split_record(path: str, line: int, record: dict) -> list[dict[str, str]]:
    instruction = _require_str(path, line, record, "instruction")
    context = _require_str(path, line, record, "context", allow_empty=True) if "context" in record else ""
    messages = [{"role": "user", "content": _prompt_text(instruction, context)}]
    if "response" in record:
        messages.append({"role": "assistant", "content": _require_str(path, line, record, "response")})
    return messages


def _from_chat_record(path: str, line: int, record: dict) -> list[dict[str, str]]:
    messages = record["messages"]
    if not isinstance(messages, list) or not messages:
        raise SpecError(path, "must be a non-empty list", line=line, field="messages")
    out = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise SpecError(path, "must be an object {role, content}", line=line, field=where)
        if m.get("role") not in ROLES:
            raise SpecError(path, f"must be one of {', '.join(ROLES)}", line=line, field=f"{where}.role")
        if not isinstance(m.get("content"), str):
            raise SpecError(path, "must be a string", line=line, field=f"{where}.content")
        out.append({"role": m["role"], "content": m["content"]})
    return out


def read_conversations(path: str, require_response: bool) -> list[Conversation]:
    """All records of one JSONL file. With require_response, each must end in an assistant turn."""
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise SpecError(path, f"cannot read dataset: {e.strerror}") from e
    out: list[Conversation] = []
    with f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise SpecError(path, f"not valid JSON: {e.msg} (column {e.colno})", line=line_no) from e
            if not isinstance(record, dict):
                raise SpecError(path, "each line must be a JSON object", line=line_no)
            if "messages" in record:
                messages = _from_chat_record(path, line_no, record)
            elif "instruction" in record:
                messages = _from_split_record(path, line_no, record)
            else:
                raise SpecError(path, "record has neither 'messages' nor 'instruction'", line=line_no)
            has_answer = messages[-1]["role"] == "assistant"
            if require_response and not has_answer:
                field = "messages" if "messages" in record else "response"
                raise SpecError(path, "a training record needs an assistant response", line=line_no, field=field)
            record_id = record.get("id", f"{line_no}")
            out.append(Conversation(id=str(record_id), messages=messages))
    if not out:
        raise SpecError(path, "dataset has no records")
    return out


def prompt_messages(conversation: Conversation) -> list[dict[str, str]]:
    """The conversation up to (not including) its final assistant answer: what the model must answer."""
    messages = conversation.messages
    return messages[:-1] if messages[-1]["role"] == "assistant" else messages
