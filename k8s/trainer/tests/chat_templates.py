# ruff: noqa: E501 - the published templates are kept verbatim, long lines included
"""Published chat templates of real model families on offline test tokenizers.

No model hub is reachable, so each family gets a byte-level tokenizer (one token per byte, so any
rendering tokenizes the same whether whole or in parts) plus that family's special tokens, with the
family's Jinja chat template written as the model repositories publish it (tool-call branches left out).
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

# google/gemma-2-2b-it: rejects a system turn, answers as 'model', ends turns with <end_of_turn>.
GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)

# meta-llama/Meta-Llama-3-8B-Instruct: turns end with <|eot_id|>, the tokenizer's eos is <|end_of_text|>.
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# Qwen/Qwen2.5-7B-Instruct (ChatML): a default system turn when none is given, turns end with <|im_end|>.
CHATML = (
    "{%- for message in messages %}{%- if loop.first and message['role'] != 'system' %}"
    "{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}"
    "{%- endif %}{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"
)

# Qwen/Qwen3-8B: answers after the last user query carry a <think> block; earlier answers are rendered
# without it, so a conversation's prefix is not a prefix of the whole conversation.
QWEN3 = """{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}"""

# deepseek-ai/DeepSeek-R1: the generation prompt opens a '<think>\n' block the rendered answer lacks.
DEEPSEEK_R1 = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='', is_first_sp=true) %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}"
    "{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}"
    "{%- else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}"
    "{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}"
    "{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}"
    "{% set content = message['content'] %}{% if '</think>' in content %}"
    "{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor -%}"
    "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}"
)


@dataclass(frozen=True)
class Family:
    name: str
    template: str
    bos: str | None
    eos: str
    pad: str
    end_of_turn: str
    specials: tuple[str, ...]


FAMILIES = {
    f.name: f
    for f in [
        Family("gemma", GEMMA, "<bos>", "<eos>", "<pad>", "<end_of_turn>", ("<start_of_turn>", "<end_of_turn>")),
        Family(
            "llama3",
            LLAMA3,
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|end_of_text|>",
            "<|eot_id|>",
            ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
        ),
        Family("chatml", CHATML, None, "<|endoftext|>", "<|endoftext|>", "<|im_end|>", ("<|im_start|>", "<|im_end|>")),
        Family(
            "qwen3",
            QWEN3,
            None,
            "<|im_end|>",
            "<|endoftext|>",
            "<|im_end|>",
            ("<|im_start|>", "<|im_end|>", "<|endoftext|>"),
        ),
        Family(
            "deepseek-r1",
            DEEPSEEK_R1,
            "<｜begin▁of▁sentence｜>",
            "<｜end▁of▁sentence｜>",
            "<｜end▁of▁sentence｜>",
            "<｜end▁of▁sentence｜>",
            ("<｜User｜>", "<｜Assistant｜>"),
        ),
    ]
}
# Qwen3 and DeepSeek-R1 keep <think> and </think> as added (not special) tokens: they survive decoding.
THINK_TOKENS = ("<think>", "</think>")


def tokenizer_for(family: Family) -> PreTrainedTokenizerFast:
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    core = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    named = {"eos_token": family.eos, "pad_token": family.pad}
    if family.bos:
        named["bos_token"] = family.bos
    tok = PreTrainedTokenizerFast(tokenizer_object=core, padding_side="left", **named)
    extra = [s for s in family.specials if s not in named.values()]
    tok.add_special_tokens({"additional_special_tokens": extra})
    if family.name in ("qwen3", "deepseek-r1"):
        tok.add_tokens(list(THINK_TOKENS))
    tok.chat_template = family.template
    return tok


def save_bigram_model(path, tok: PreTrainedTokenizerFast, transitions: dict[int, int], generation_eos=None) -> str:
    """A tiny LlamaForCausalLM directory whose next token depends only on the current one, as given
    by `transitions` (greedy decoding follows it exactly; unlisted tokens give flat logits).

    Attention and MLP outputs are zeroed, so the last hidden state is the current token's embedding;
    embeddings are one-hot and the LM head maps each listed token's direction to its successor."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    vocab = len(tok)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=vocab,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=1,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.model.embed_tokens.weight.copy_(torch.eye(vocab))
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        head = torch.zeros(vocab, vocab)
        for current, successor in transitions.items():
            head[successor, current] = 10.0
        model.lm_head.weight.copy_(head)
    if generation_eos is not None:
        model.generation_config.eos_token_id = generation_eos
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)
