"""A merged model as one GGUF file that llama.cpp, Ollama and LM Studio load, written with PyPI `gguf`'s writer.

Covers the Llama architecture (LlamaForCausalLM: Llama 2/3, SmolLM2, TinyLlama, the builtin test models) with a
byte-level BPE tokenizer (tokenizer.json), the layout most small chat students have; anything else raises
Unsupported with the reason, and the trainer states it in result.json instead of writing a file llama.cpp
would misread. Tensor names follow gguf's own name map; q and k projections are permuted from the Hugging Face
rotate-half layout to llama.cpp's interleaved rotary layout, as llama.cpp's convert_hf_to_gguf.py does."""

from __future__ import annotations

import json
import os

import numpy as np
import torch


class Unsupported(Exception):
    pass


FILE_TYPES = {"f32": 0, "f16": 1}  # gguf.LlamaFileType ALL_F32 / MOSTLY_F16


def _permute(weights: torch.Tensor, n_head: int) -> torch.Tensor:
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _pre_tokenizer(tokenizer_json: dict) -> str:
    """llama.cpp's name for the pre-tokenizer (it splits text before BPE): 'smollm' is GPT-2's regex with each
    digit split off, 'gpt-2' the plain GPT-2 regex, 'default' llama.cpp's fallback."""
    pre = tokenizer_json.get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    kinds = [p.get("type") for p in parts]
    if "ByteLevel" not in kinds:
        raise Unsupported(f"pre-tokenizer {kinds} is not byte-level BPE")
    if "Digits" in kinds and any(p.get("individual_digits") for p in parts):
        return "smollm"
    return "gpt-2" if kinds == ["ByteLevel"] else "default"


def _vocab(tokenizer) -> tuple[list[str], list[int], list[str], str]:
    """Tokens in id order, their gguf token types, the BPE merges and the pre-tokenizer name."""
    import gguf

    raw = json.loads(tokenizer.backend_tokenizer.to_str())
    model = raw.get("model", {})
    if model.get("type") != "BPE":
        raise Unsupported(f"tokenizer model {model.get('type')} (only byte-level BPE is exported)")
    pre = _pre_tokenizer(raw)
    size = len(tokenizer)
    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    added = {a["id"]: a for a in raw.get("added_tokens", [])}
    tokens, types = [], []
    for i in range(size):
        token = by_id.get(i, f"[PAD{i}]")
        tokens.append(token)
        if i in added:
            types.append(gguf.TokenType.CONTROL if added[i].get("special") else gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL if i in by_id else gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    return tokens, types, merges, pre


def write_gguf(model, tokenizer, path: str, name: str, file_type: str = "f16") -> str:
    """Writes `model` (a merged, unquantized LlamaForCausalLM) and its tokenizer and chat template."""
    import gguf

    config = model.config
    if config.model_type != "llama":
        raise Unsupported(f"architecture {config.model_type!r} (GGUF export covers the Llama architecture)")
    tokens, types, merges, pre = _vocab(tokenizer)
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    rope = getattr(config, "rope_parameters", None) or {}
    if rope.get("rope_type", "default") not in ("default", None):
        raise Unsupported(f"rope scaling {rope.get('rope_type')!r}")
    theta = rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))

    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA]
    writer = gguf.GGUFWriter(path, arch)
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_freq_base(float(theta))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_vocab_size(len(tokens))
    writer.add_rope_dimension_count(head_dim)
    writer.add_file_type(FILE_TYPES[file_type])

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for what, token_id in (
        ("bos", tokenizer.bos_token_id),
        ("eos", tokenizer.eos_token_id),
        ("unk", tokenizer.unk_token_id),
        ("pad", tokenizer.pad_token_id),
    ):
        if token_id is not None:
            getattr(writer, f"add_{what}_token_id")(token_id)
    writer.add_add_bos_token(bool(getattr(tokenizer, "add_bos_token", False)))
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    state = model.state_dict()
    if getattr(config, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)  # llama.cpp reuses token_embd when output.weight is absent
    for hf_name, tensor in state.items():
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise Unsupported(f"no GGUF name for tensor {hf_name}")
        data = tensor.detach().float()
        if hf_name.endswith("q_proj.weight"):
            data = _permute(data, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = _permute(data, n_kv)
        # 1-D tensors (norms) stay f32: llama.cpp expects them so and they are tiny.
        array = data.numpy().astype(np.float16 if file_type == "f16" and data.ndim > 1 else np.float32)
        writer.add_tensor(gguf_name, array)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _go_escape(text: str) -> str:
    if "{{" in text or "}}" in text:
        raise Unsupported("the chat template's markers contain '{{' or '}}'")
    return text


def ollama_template(tokenizer) -> str:
    """An Ollama (Go template) rendering of the tokenizer's chat template for the common shape
    <prefix(role)>content<end-of-turn>, derived by rendering the Jinja template around marker strings.
    Raises Unsupported where the template does not have that shape."""
    S, U, A = "\x01SYS\x01", "\x01USR\x01", "\x01AST\x01"

    def render(messages, gen):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)

    try:
        convo = [{"role": "system", "content": S}, {"role": "user", "content": U}, {"role": "assistant", "content": A}]
        full = render(convo, False)
        prompt = render(convo[:2], False)
        gen_prefix = render(convo[:2], True)[len(prompt) :]
    except Exception as e:  # noqa: BLE001 - any template error means: no derived template
        raise Unsupported(f"the chat template does not render a system turn: {e}") from e
    if not (full.count(S) == full.count(U) == full.count(A) == 1) or not gen_prefix:
        raise Unsupported("the chat template does not render each turn once")
    head, rest = full.split(S)
    sys_to_user, rest = rest.split(U)
    user_to_asst, end = rest.split(A)
    if not user_to_asst.endswith(gen_prefix):
        raise Unsupported("the generation prompt is not the assistant turn's prefix")
    suffix = user_to_asst[: -len(gen_prefix)]
    if not sys_to_user.startswith(suffix) or not end.startswith(suffix.rstrip("\n")):
        raise Unsupported("turns do not end with one common end-of-turn marker")
    user_prefix = sys_to_user[len(suffix) :]
    # A BOS the template writes once in front of everything (Llama 3), not the start of every turn (ChatML).
    bos = tokenizer.bos_token or ""
    bos = bos if bos and head.startswith(bos) and not user_prefix.startswith(bos) else ""
    prefixes = {"system": head[len(bos) :], "user": user_prefix, "assistant": gen_prefix}
    parts = [_go_escape(bos), "{{- range .Messages }}"]
    for i, (role, prefix) in enumerate(prefixes.items()):
        parts.append(
            f'{{{{- {"if" if i == 0 else "else if"} eq .Role "{role}" }}}}{_go_escape(prefix)}{{{{ .Content }}}}'
        )
    parts.append(f"{{{{- end }}}}{_go_escape(suffix)}{{{{ end }}}}{_go_escape(gen_prefix)}")
    return "".join(parts), prefixes, suffix, bos


def render_like_ollama(template_parts, messages: list[dict[str, str]]) -> str:
    """What the derived Ollama template produces for messages (for tests: it must equal the Jinja render)."""
    _template, prefixes, suffix, bos = template_parts
    return bos + "".join(prefixes[m["role"]] + m["content"] + suffix for m in messages) + prefixes["assistant"]


def write_modelfile(out_dir: str, gguf_file: str, tokenizer, stop_strings: list[str]) -> tuple[str, str | None]:
    """An Ollama Modelfile next to the GGUF file: FROM, TEMPLATE (when derivable) and a stop per end token.
    Returns its path and, when no TEMPLATE could be derived, why (Ollama then reads the GGUF's chat template)."""
    lines = [f"FROM ./{os.path.basename(gguf_file)}"]
    why_not = None
    try:
        template = ollama_template(tokenizer)[0]
        lines.append(f'TEMPLATE """{template}"""')
    except Unsupported as e:
        why_not = str(e)
        lines.append(f"# no TEMPLATE: {why_not}; Ollama uses the chat template stored in the GGUF file")
    for stop in stop_strings:
        lines.append(f"PARAMETER stop {json.dumps(stop)}")
    path = os.path.join(out_dir, "Modelfile")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path, why_not
