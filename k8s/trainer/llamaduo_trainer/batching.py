"""Micro-batches for training: packed rows (no padding) or padded batches (the plain layout).

Packed rows hold several examples end to end (up to maxSeqLength tokens); position ids restart at 0 for each
example, and with attention_mask=None transformers turns those restarts into a block-diagonal causal
mask (eager, sdpa, flex attention) or varlen flash attention, so no example attends to another. Flash
attention reads the restarts only in a batch of one row, so for it a micro-batch is laid out as a
single row (see one_row_for)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from .chat_tokens import IGNORE, Example


@dataclass
class MicroBatch:
    input_ids: torch.Tensor
    labels: torch.Tensor
    position_ids: torch.Tensor | None
    attention_mask: torch.Tensor | None
    # Tokens that are computed (padding excluded) and tokens that carry a label.
    tokens: int
    trained_tokens: int

    def to(self, device: torch.device) -> MicroBatch:
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return MicroBatch(
            move(self.input_ids),
            move(self.labels),
            move(self.position_ids),
            move(self.attention_mask),
            self.tokens,
            self.trained_tokens,
        )

    def model_inputs(self) -> dict[str, torch.Tensor]:
        inputs = {"input_ids": self.input_ids}
        if self.position_ids is not None:
            inputs["position_ids"] = self.position_ids
        if self.attention_mask is not None:
            inputs["attention_mask"] = self.attention_mask
        return inputs


def _labels_for_row(example: Example) -> list[int]:
    # The first label of each example is never trained on, so that in a packed row the last token of
    # the previous example is not asked to predict the next example's first token.
    return [IGNORE] + example.labels[1:]


def pack(rows: list[list[Example]], pad_id: int) -> MicroBatch:
    """One micro-batch of packed rows. Rows shorter than the longest are filled with a pad run that
    is a sequence of its own (positions restart, no labels), so it never touches real examples."""
    width = max(sum(len(ex.input_ids) for ex in row) for row in rows)
    ids, labels, positions = [], [], []
    for row in rows:
        r_ids: list[int] = []
        r_labels: list[int] = []
        r_pos: list[int] = []
        for ex in row:
            r_ids += ex.input_ids
            r_labels += _labels_for_row(ex)
            r_pos += range(len(ex.input_ids))
        fill = width - len(r_ids)
        ids.append(r_ids + [pad_id] * fill)
        labels.append(r_labels + [IGNORE] * fill)
        positions.append(r_pos + list(range(fill)))
    label_t = torch.tensor(labels)
    return MicroBatch(
        input_ids=torch.tensor(ids),
        labels=label_t,
        position_ids=torch.tensor(positions),
        attention_mask=None,
        tokens=sum(len(ex.input_ids) for row in rows for ex in row),
        trained_tokens=int((label_t != IGNORE).sum()),
    )


def pad(examples: list[Example], pad_id: int) -> MicroBatch:
    width = max(len(ex.input_ids) for ex in examples)
    ids, labels, mask = [], [], []
    for ex in examples:
        n = len(ex.input_ids)
        ids.append(ex.input_ids + [pad_id] * (width - n))
        labels.append(_labels_for_row(ex) + [IGNORE] * (width - n))
        mask.append([1] * n + [0] * (width - n))
    label_t = torch.tensor(labels)
    return MicroBatch(
        input_ids=torch.tensor(ids),
        labels=label_t,
        position_ids=None,
        attention_mask=torch.tensor(mask),
        tokens=sum(len(ex.input_ids) for ex in examples),
        trained_tokens=int((label_t != IGNORE).sum()),
    )


OPEN_ROWS = 32


def plan_epoch(examples: list[Example], seed: int, epoch: int, packing: bool, batch_size: int, max_len: int):
    """The epoch's micro-batches in a seeded order (the same on every run, so a resumed run skips
    exactly the batches already trained on). Unpacked: lists of example indices. Packed: lists of
    batch_size rows, each a list of example indices totalling at most max_len tokens."""
    order = list(range(len(examples)))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    if not packing:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    # Rows of max_len tokens rather than one long row per micro-batch: attention cost grows with the
    # square of the row length wherever the kernel computes masked blocks (sdpa with a mask, CPU).
    # First fit over the shuffled order, looking only at the last OPEN_ROWS rows so that planning
    # stays linear in the data volume.
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = len(examples[i].input_ids)
        for r in range(max(0, len(rows) - OPEN_ROWS), len(rows)):
            if n <= room[r]:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(max_len - n)
    return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]


def one_row_for(attn_implementation: str) -> bool:
    """Whether packed examples must share one row: transformers' flash-attention path derives the
    cumulative sequence lengths from position ids only when the batch has a single row; with more rows
    it runs plain causal attention over each row and packed examples attend to each other."""
    return "flash" in attn_implementation


def collate(examples: list[Example], plan_item: list, packing: bool, pad_id: int, attn: str = "sdpa") -> MicroBatch:
    if packing:
        rows = [[examples[i] for i in row] for row in plan_item]
        return pack([[ex for row in rows for ex in row]] if one_row_for(attn) else rows, pad_id)
    return pad([examples[i] for i in plan_item], pad_id)
