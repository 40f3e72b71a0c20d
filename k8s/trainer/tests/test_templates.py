"""Masking and stop tokens on the chat templates of real model families (tests/chat_templates.py)."""

import json

import pytest
from chat_templates import FAMILIES, save_bigram_model, tokenizer_for

from conftest import write_jsonl
from llamaduo_trainer.chat_tokens import IGNORE, prompt_ids, tokenize_conversation
from llamaduo_trainer.generate import run_generate
from llamaduo_trainer.spec import GenerateSpec
from llamaduo_trainer.stop_tokens import cut_at_stop, stop_token_ids

CONVERSATION = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "question one"},
    {"role": "assistant", "content": "answer one"},
    {"role": "user", "content": "question two"},
    {"role": "assistant", "content": "answer two"},
]

# What the loss is computed on: each answer exactly, with the end-of-turn token that teaches the model
# to stop (ChatML-style templates also write a newline after it, which the turn owns).
LABELLED = {
    "gemma": "answer one<end_of_turn>\nanswer two<end_of_turn>\n",
    "llama3": "answer one<|eot_id|>answer two<|eot_id|>",
    "chatml": "answer one<|im_end|>\nanswer two<|im_end|>\n",
    # Qwen3 drops the (empty) think block of earlier answers but writes one for the last answer.
    "qwen3": "answer one<|im_end|><think>\n\n</think>\n\nanswer two<|im_end|>\n",
    # DeepSeek-R1's generation prompt adds '<think>\n', which the rendered answer lacks.
    "deepseek-r1": "answer one<｜end▁of▁sentence｜>answer two<｜end▁of▁sentence｜>",
}


def labelled_text(tok, ex):
    return tok.decode([t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != IGNORE])


@pytest.mark.parametrize("name", list(FAMILIES))
def test_labels_cover_exactly_the_answers(name):
    tok = tokenizer_for(FAMILIES[name])
    ex = tokenize_conversation(tok, CONVERSATION, max_length=4096)
    assert labelled_text(tok, ex) == LABELLED[name]
    assert all(lab in (IGNORE, t) for t, lab in zip(ex.input_ids, ex.labels, strict=True))
    whole = tok.decode(ex.input_ids)
    assert "be brief" in whole and "question two" in whole


def test_gemma_system_turn_is_folded_into_the_first_user_turn():
    tok = tokenizer_for(FAMILIES["gemma"])
    with pytest.raises(Exception, match="System role not supported"):
        tok.apply_chat_template(CONVERSATION, tokenize=False)
    prompt = tok.decode(prompt_ids(tok, CONVERSATION[:2], 4096))
    assert prompt == "<bos><start_of_turn>user\nbe brief\n\nquestion one<end_of_turn>\n<start_of_turn>model\n"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_stop_tokens_include_the_end_of_turn(name):
    family = FAMILIES[name]
    tok = tokenizer_for(family)
    stops = tok.convert_ids_to_tokens(stop_token_ids(tok))
    assert family.eos in stops and family.end_of_turn in stops


def test_stop_tokens_take_the_generation_config_list_too():
    class Model:
        class generation_config:  # noqa: N801 - stands in for transformers' GenerationConfig
            eos_token_id = [5, 7]

    tok = tokenizer_for(FAMILIES["llama3"])
    assert stop_token_ids(tok, Model()) == [tok.eos_token_id, 5, 7, tok.convert_tokens_to_ids("<|eot_id|>")]
    Model.generation_config.eos_token_id = 9
    assert stop_token_ids(tok, Model())[:2] == [tok.eos_token_id, 9]


def test_cut_at_stop():
    assert cut_at_stop([1, 2, 9, 3, 9], [9]) == ([1, 2], 3)
    assert cut_at_stop([1, 2], [9]) == ([1, 2], 2)


def _ids(tok, text):
    return (
        tok.convert_tokens_to_ids(text)
        if text in tok.get_vocab()
        else tok(text, add_special_tokens=False)["input_ids"][0]
    )


@pytest.mark.parametrize("name", list(FAMILIES))
def test_generation_stops_at_the_end_of_turn_and_cuts_the_text(tmp_path, name):
    # Every template's generation prompt ends with a newline. The model answers "hi", then the end of
    # turn, then would run on with "x" forever: stopping only at the tokenizer's eos would write
    # "hixxxx..." for Gemma, Llama 3 and ChatML.
    family = FAMILIES[name]
    tok = tokenizer_for(family)
    nl, h, i, x, eot = (_ids(tok, t) for t in ("\n", "h", "i", "x", family.end_of_turn))
    model_dir = save_bigram_model(tmp_path / "model", tok, {nl: h, h: i, i: eot, eot: x, x: x})
    prompts = write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": "a", "messages": CONVERSATION[:2]}, {"id": "b", "messages": [{"role": "user", "content": "q"}]}],
    )
    spec = GenerateSpec.model_validate(
        {
            "baseModel": model_dir,
            "prompts": prompts,
            "outputDir": str(tmp_path / "out"),
            "sampling": {"responsesPerPrompt": 2, "temperature": 0.5, "maxNewTokens": 12, "batchSize": 2},
            "device": "cpu",
        }
    )
    result = run_generate(spec, "spec.json")
    rows = [json.loads(line) for line in open(result["outputs"]["generations"])]
    assert [(r["promptId"], r["text"]) for r in rows] == [("a", "hi"), ("a", "hi"), ("b", "hi"), ("b", "hi")]
    # "h", "i" and the end-of-turn token, for each of the four samples; nothing after the stop is counted.
    assert result["metrics"]["newTokens"] == 4 * 3


def test_generation_config_stop_list_is_honoured(tmp_path):
    # A template with no known end-of-turn marker: the stop token comes from generation_config only.
    family = FAMILIES["chatml"]
    tok = tokenizer_for(family)
    tok.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"
    colon, h, x, stop = (_ids(tok, t) for t in (":", "h", "x", "<|im_start|>"))
    model_dir = save_bigram_model(
        tmp_path / "model", tok, {colon: h, h: stop, stop: x, x: x}, generation_eos=[tok.eos_token_id, stop]
    )
    prompts = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "messages": [{"role": "user", "content": "q"}]}])
    spec = GenerateSpec.model_validate(
        {
            "baseModel": model_dir,
            "prompts": prompts,
            "outputDir": str(tmp_path / "out"),
            "sampling": {"responsesPerPrompt": 1, "temperature": 0, "maxNewTokens": 8},
            "device": "cpu",
        }
    )
    result = run_generate(spec, "spec.json")
    rows = [json.loads(line) for line in open(result["outputs"]["generations"])]
    assert [r["text"] for r in rows] == ["h"] and result["metrics"]["newTokens"] == 2
