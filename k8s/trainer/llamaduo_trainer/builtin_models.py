"""Randomly initialised Llama-architecture models built from config, for tests and the CPU demo.

No model hub is reachable, so `builtin:<name>` base models are created on the fly: a byte-level
tokenizer (256 byte tokens plus chat specials) and a LlamaForCausalLM with a fixed init seed, so the
same name always yields the same weights and an adapter trained on it can be applied again later.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

PREFIX = "builtin:"

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIALS = ["<pad>", "<s>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]

SHAPES: dict[str, dict[str, int]] = {
    # Unit tests: a forward+backward step takes milliseconds.
    "tiny-random-llama": dict(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2
    ),
    # CPU demo: about 3M parameters, fits a few hundred steps in minutes on 2 cores.
    "small-random-llama": dict(
        hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=4
    ),
}
INIT_SEED = 1234


def is_builtin(name: str) -> bool:
    return name.startswith(PREFIX)


def byte_tokenizer() -> PreTrainedTokenizerFast:
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    core = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<s>", eos_token="<|end|>", pad_token="<pad>", padding_side="left"
    )
    tok.add_special_tokens({"additional_special_tokens": SPECIALS[3:]})
    tok.chat_template = CHAT_TEMPLATE
    return tok


def build(name: str, dtype: torch.dtype = torch.float32) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    key = name[len(PREFIX) :] if is_builtin(name) else name
    if key not in SHAPES:
        raise KeyError(f"unknown builtin model {name!r}; known: {', '.join(PREFIX + k for k in SHAPES)}")
    tok = byte_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
        # Frozen random heads with the usual 0.02 init cap logits near zero, so LoRA could not lower
        # the loss far; unit-norm rows give the adapters a head they can steer.
        initializer_range=SHAPES[key]["hidden_size"] ** -0.5,
        **SHAPES[key],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(INIT_SEED)
        model = LlamaForCausalLM(config)
    return model.to(dtype), tok
