import torch

from conftest import TINY
from llamaduo_trainer import batching
from llamaduo_trainer.builtin_models import build
from llamaduo_trainer.chat_tokens import tokenize_conversation
from llamaduo_trainer.finetune import micro_batch_loss
from llamaduo_trainer.records import Conversation


def examples(tok):
    convs = [
        Conversation("a", [{"role": "user", "content": "short"}, {"role": "assistant", "content": "ok"}]),
        Conversation(
            "b",
            [
                {"role": "user", "content": "a longer question here"},
                {"role": "assistant", "content": "a longer answer, too"},
            ],
        ),
        Conversation("c", [{"role": "user", "content": "mid size"}, {"role": "assistant", "content": "fine answer"}]),
    ]
    return [tokenize_conversation(tok, c.messages, 128) for c in convs]


def test_packed_row_has_no_padding_and_restarting_positions():
    _, tok = build(TINY)
    exs = examples(tok)
    batch = batching.pack([exs, exs[:1]], tok.pad_token_id)
    lengths = [len(e.input_ids) for e in exs]
    assert batch.input_ids.shape == (2, sum(lengths))
    assert batch.attention_mask is None and batch.tokens == sum(lengths) + lengths[0]
    starts = (batch.position_ids[0] == 0).nonzero().flatten().tolist()
    assert starts == [0, lengths[0], lengths[0] + lengths[1]]
    # The short row's fill is a run of its own, without labels.
    assert (batch.position_ids[1] == 0).nonzero().flatten().tolist() == [0, lengths[0]]
    assert (batch.labels[1, lengths[0] :] == -100).all()


def test_packing_gives_the_same_loss_as_padded_batches():
    torch.manual_seed(0)
    model, tok = build(TINY)
    model.config._attn_implementation = "sdpa"
    model.eval()
    exs = examples(tok)
    packed = batching.pack([exs[:2], exs[2:]], tok.pad_token_id)
    padded = batching.pad(exs, tok.pad_token_id)
    assert packed.trained_tokens == padded.trained_tokens
    assert padded.input_ids.numel() > packed.input_ids.numel()  # padding really was spent there
    with torch.no_grad():
        lp = micro_batch_loss(model, packed, packed.trained_tokens)
        lu = micro_batch_loss(model, padded, padded.trained_tokens)
    assert torch.allclose(lp, lu, rtol=1e-5, atol=1e-6), (lp.item(), lu.item())


def test_without_restarting_positions_examples_would_see_each_other():
    # The equality above means something only if a leak across examples changes the logits.
    model, tok = build(TINY)
    model.config._attn_implementation = "sdpa"
    model.eval()
    exs = examples(tok)
    packed = batching.pack([exs], tok.pad_token_id)
    n0, n1 = len(exs[0].input_ids), len(exs[1].input_ids)
    with torch.no_grad():
        alone = model(input_ids=torch.tensor([exs[1].input_ids])).logits[0]
        isolated = model(**packed.model_inputs(), use_cache=False).logits[0, n0 : n0 + n1]
        leaky = model(input_ids=packed.input_ids, use_cache=False).logits[0, n0 : n0 + n1]
    assert torch.allclose(isolated, alone, atol=1e-5)
    assert (leaky - alone).abs().max() > 1e-3


def test_plan_epoch_packs_every_example_once_within_capacity():
    _, tok = build(TINY)
    exs = examples(tok) * 7
    plan = batching.plan_epoch(exs, seed=1, epoch=0, packing=True, batch_size=2, max_len=128)
    rows = [row for micro_batch in plan for row in micro_batch]
    assert all(len(mb) <= 2 for mb in plan)
    assert sorted(i for r in rows for i in r) == list(range(len(exs)))
    assert all(sum(len(exs[i].input_ids) for i in r) <= 128 for r in rows)
    assert plan == batching.plan_epoch(exs, seed=1, epoch=0, packing=True, batch_size=2, max_len=128)
