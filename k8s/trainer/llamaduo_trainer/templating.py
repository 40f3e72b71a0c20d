"""Chat template rendering that copes with templates that reject a system turn (Gemma 1/2 raise
'System role not supported') or drop it (Mistral v0.3 writes it into the last user turn only when that turn
ends the conversation, so a training example ending with the answer loses it while the generation prompt
has it): the system text is folded into the first user turn, as Gemma 3's own template does, for training
and generation alike."""

from __future__ import annotations


def fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """System turns joined, blank-line separated, in front of the first user turn's content."""
    system = [m["content"] for m in messages if m["role"] == "system"]
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for m in rest:
        if m["role"] == "user":
            m["content"] = "\n\n".join(system + [m["content"]])
            return rest
    return [{"role": "user", "content": "\n\n".join(system)}] + rest


_ACCEPTS_SYSTEM: dict[str, bool] = {}


def accepts_system(tokenizer) -> bool:
    """Whether the template renders a system turn both in a prompt and in a conversation that ends with
    the answer (probed once per template text)."""
    key = str(tokenizer.chat_template)
    if key not in _ACCEPTS_SYSTEM:
        marker = "system-probe-7f3a"
        probe = [{"role": "system", "content": marker}, {"role": "user", "content": "u"}]
        answered = probe + [{"role": "assistant", "content": "a"}]
        try:
            _ACCEPTS_SYSTEM[key] = marker in tokenizer.apply_chat_template(
                probe, tokenize=False, add_generation_prompt=True
            ) and marker in tokenizer.apply_chat_template(answered, tokenize=False, add_generation_prompt=False)
        except Exception:  # noqa: BLE001 - jinja2 TemplateError from raise_exception, or any template failure
            _ACCEPTS_SYSTEM[key] = False
    return _ACCEPTS_SYSTEM[key]


def render(tokenizer, messages: list[dict[str, str]], generation_prompt: bool) -> str:
    if any(m["role"] == "system" for m in messages) and not accepts_system(tokenizer):
        messages = fold_system(messages)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
