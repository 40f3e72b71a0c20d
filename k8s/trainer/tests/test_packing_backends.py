"""Packed examples stay isolated on every attention backend this machine has: each example's logits in
a packed micro-batch of two rows equal its logits computed alone.

On CPU that is eager and sdpa. flex_attention on CPU compiles its kernel (about a minute on a small
machine), so it runs only with LLAMADUO_TEST_FLEX_CPU=1; on CUDA, sdpa, flex_attention and (with the
flash-attn package) flash_attention_2 run."""

import importlib.util
import os

import pytest
import torch
from test_packing import examples

from conftest import TINY
from llamaduo_trainer import batching
from llamaduo_trainer.builtin_models import build


def backends():
    out = [("eager", "cpu"), ("sdpa", "cpu")]
    if os.environ.get("LLAMADUO_TEST_FLEX_CPU") == "1":
        out.append(("flex_attention", "cpu"))
    if torch.cuda.is_available():
        out += [("sdpa", "cuda"), ("flex_attention", "cuda")]
        if importlib.util.find_spec("flash_attn") is not None:
            out.append(("flash_attention_2", "cuda"))
    return out


def model_for(attn, device):
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model, tok = build(TINY, dtype)
    model.config._attn_implementation = attn
    return model.to(device).eval(), tok


def layout(exs, plan_item, one_row):
    """(row, start) of each example in the collated micro-batch, in plan order."""
    rows = [[i for row in plan_item for i in row]] if one_row else plan_item
    where = {}
    for r, row in enumerate(rows):
        start = 0
        for i in row:
            where[i] = (r, start)
            start += len(exs[i].input_ids)
    return where


@pytest.mark.parametrize(("attn", "device"), backends())
def test_packed_examples_do_not_attend_to_each_other(attn, device):
    model, tok = model_for(attn, device)
    exs = examples(tok)
    plan_item = [[0, 1], [2]]
    batch = batching.collate(exs, plan_item, True, tok.pad_token_id, attn).to(torch.device(device))
    tol = 3e-2 if device == "cuda" else 1e-5
    with torch.no_grad():
        packed = model(**batch.model_inputs(), use_cache=False).logits.float()
        for i, (r, start) in layout(exs, plan_item, batching.one_row_for(attn)).items():
            n = len(exs[i].input_ids)
            alone = model(input_ids=torch.tensor([exs[i].input_ids], device=device)).logits[0].float()
            assert torch.allclose(packed[r, start : start + n], alone, atol=tol), (attn, i)


def test_flash_attention_gets_one_row_per_micro_batch():
    _, tok = build(TINY)
    exs = examples(tok)
    flat = batching.collate(exs, [[0, 1], [2]], True, tok.pad_token_id, "flash_attention_2")
    rows = batching.collate(exs, [[0, 1], [2]], True, tok.pad_token_id, "sdpa")
    lengths = [len(e.input_ids) for e in exs]
    assert flat.input_ids.shape == (1, sum(lengths)) and rows.input_ids.shape[0] == 2
    assert (flat.position_ids[0] == 0).nonzero().flatten().tolist() == [0, lengths[0], lengths[0] + lengths[1]]
    assert flat.trained_tokens == rows.trained_tokens and flat.tokens == rows.tokens
    # The one-row layout is itself sound: sdpa on it isolates every example too.
    model, _ = model_for("sdpa", "cpu")
    with torch.no_grad():
        packed = model(**flat.model_inputs(), use_cache=False).logits[0]
        for i, (_, start) in layout(exs, [[0, 1], [2]], True).items():
            alone = model(input_ids=torch.tensor([exs[i].input_ids])).logits[0]
            assert torch.allclose(packed[start : start + lengths[i]], alone, atol=1e-5), i


@pytest.mark.skipif(
    not torch.cuda.is_available() or importlib.util.find_spec("flash_attn") is None, reason="needs CUDA and flash-attn"
)
def test_flash_attention_with_several_rows_would_leak():
    # Why one row: with two rows, flash attention ignores the position restarts.
    model, tok = model_for("flash_attention_2", "cuda")
    exs = examples(tok)
    rows = batching.pack([[exs[0], exs[1]], [exs[2]]], tok.pad_token_id).to(torch.device("cuda"))
    n0, n1 = len(exs[0].input_ids), len(exs[1].input_ids)
    with torch.no_grad():
        leaky = model(**rows.model_inputs(), use_cache=False).logits[0, n0 : n0 + n1].float()
        alone = model(input_ids=torch.tensor([exs[1].input_ids], device="cuda")).logits[0].float()
    assert (leaky - alone).abs().max() > 0.1
