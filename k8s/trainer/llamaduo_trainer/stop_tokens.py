"""Where generation stops: the tokenizer's eos, the model's generation_config eos (an int or a list)
and the chat template's end-of-turn token. Passing only tokenizer.eos_token_id to generate() replaces
the model's own stop list, so Gemma (<end_of_turn>), Llama 3 (<|eot_id|>) and ChatML (<|im_end|>)
models would run on to maxNewTokens."""

from __future__ import annotations

# End-of-turn markers of the common chat template families.
END_OF_TURN = (
    "<end_of_turn>",  # Gemma
    "<|eot_id|>",  # Llama 3
    "<|im_end|>",  # ChatML: Qwen, SmolLM, Hermes
    "<|end|>",  # Phi-3
    "<|endoftext|>",  # Qwen base, GPT-2 family
    "<｜end▁of▁sentence｜>",  # DeepSeek
    "<|end_of_text|>",  # Llama 3 base
    "</s>",  # Llama 2, Mistral
    "<|eom_id|>",  # Llama 3.1 tool calls
)


def _as_list(value) -> list[int]:
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


def template_end_of_turn_ids(tokenizer) -> list[int]:
    """Ids of the known end-of-turn markers that the chat template writes and the vocabulary holds
    as a single token."""
    template = tokenizer.chat_template or ""
    if isinstance(template, dict):  # named templates: {"default": ..., "tool_use": ...}
        template = "\n".join(template.values())
    ids = []
    for marker in END_OF_TURN:
        if marker not in template:
            continue
        token_id = tokenizer.convert_tokens_to_ids(marker)
        # An unknown token maps to None or to the unk id; only a real single token counts.
        if token_id is not None and tokenizer.convert_ids_to_tokens(token_id) == marker:
            ids.append(token_id)
    return ids


def stop_token_ids(tokenizer, model=None) -> list[int]:
    """The union, in a stable order: tokenizer eos, generation_config eos, template end-of-turn."""
    generation_config = getattr(model, "generation_config", None)
    ids = (
        _as_list(tokenizer.eos_token_id)
        + _as_list(getattr(generation_config, "eos_token_id", None))
        + template_end_of_turn_ids(tokenizer)
    )
    return list(dict.fromkeys(ids))


def cut_at_stop(tokens: list[int], stops: list[int]) -> tuple[list[int], int]:
    """The tokens before the first stop token, and how many tokens the model really produced
    (including that stop token, excluding the padding after it)."""
    stop_set = set(stops)
    for i, token in enumerate(tokens):
        if token in stop_set:
            return tokens[:i], i + 1
    return tokens, len(tokens)
