"""Supervised LoRA/QLoRA fine-tuning on chat conversations.

A plain training loop rather than transformers.Trainer: packed rows with per-example position ids,
a loss normalised over all assistant tokens of an accumulation window, JSON progress lines, and a
resume that replays the exact seeded batch order are each a few lines here and awkward there."""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable

import torch
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
from transformers import get_scheduler

from . import batching, checkpoints, cpu_speed, exports, fast_path, fit, loading, token_cache
from .chat_tokens import IGNORE, require_examples, tokenize_conversation
from .manifest import device_name, write_result
from .progress import Eta, emit, log
from .records import read_conversations
from .spec import FinetuneSpec


def load_examples(spec: FinetuneSpec, tokenizer, spec_path: str = "spec"):
    """The trainable examples of every dataset (each file read from the token cache when it was seen before)
    and how many were dropped because maxSeqLength cut off every answer token."""
    examples, dropped, cached = [], 0, 0
    fingerprint = token_cache.tokenizer_fingerprint(spec.baseModel, tokenizer)
    for path in spec.datasets:

        def build(path=path):
            out = []
            for conv in read_conversations(path, require_response=True):
                ex = tokenize_conversation(tokenizer, conv.messages, spec.train.maxSeqLength)
                if ex.trained_tokens > 0:  # an answer cut off entirely by maxSeqLength teaches nothing
                    out.append(ex)
            return out

        file_examples, hit = token_cache.cached_examples(path, fingerprint, spec.train.maxSeqLength, build)
        examples.extend(file_examples)
        cached += hit
        # reading the records again is cheap next to tokenizing them, and works for cached files too
        dropped += sum(1 for _ in read_conversations(path, require_response=True)) - len(file_examples)
    if cached:
        log(f"tokenized examples of {cached} of {len(spec.datasets)} dataset(s) read from the token cache")
    require_examples(examples, dropped, spec, spec_path)
    return examples, dropped


# Parts of multimodal checkpoints (Gemma 3 4B+, Llava, Qwen2-VL, ...) that text-only training never runs.
NON_TEXT = (
    "vision_tower",
    "vision_model",
    "visual",
    "multi_modal_projector",
    "audio_tower",
    "embed_vision",
    "embed_audio",
)


def lora_targets(model, target_modules):
    """PEFT's 'all-linear' takes every Linear but the output head, the vision tower's too on a multimodal
    checkpoint: adapters that text-only data never trains, and that vLLM refuses to load with the model.
    There it becomes a pattern for the language model's linear layers only."""
    if target_modules != "all-linear":
        return target_modules
    names = [n for n, _ in model.named_modules()]
    if not any(part in n.split(".") for n in names for part in NON_TEXT):
        return target_modules
    text_linears = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
        and not any(part in name.split(".") for part in NON_TEXT)
        and name.rsplit(".", 1)[-1] != "lm_head"
    }
    skip = "|".join(NON_TEXT)
    return rf"^(?!(.*\.)?({skip})\.).*\.({'|'.join(sorted(text_linears))})$"


def attach_lora(model, spec: FinetuneSpec, quantized: bool, compute_dtype: torch.dtype, checkpointing: bool):
    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        fit.cast_frozen_to(model, compute_dtype)
    fit.set_gradient_checkpointing(model, checkpointing)
    config = LoraConfig(
        r=spec.lora.rank,
        lora_alpha=spec.lora.alpha,
        lora_dropout=spec.lora.dropout,
        target_modules=lora_targets(model, spec.lora.targetModules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def micro_batch_loss(
    model,
    batch: batching.MicroBatch,
    window_trained_tokens: int,
    head_loss: fast_path.HeadLoss = fast_path.plain_head_loss,
) -> torch.Tensor:
    """Summed token cross-entropy of the batch divided by the assistant tokens of the whole
    accumulation window, so every trained token weighs the same however the window was batched.
    use_cache=False matters: with a cache transformers does not read packed position ids as
    sequence boundaries, and packed examples would attend to each other."""
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    if batch.position_ids is None or getattr(causal_lm.config, "final_logit_softcapping", None):
        out = model(
            **batch.model_inputs(), labels=batch.labels, num_items_in_batch=window_trained_tokens, use_cache=False
        )
        return out.loss
    # Packed rows: run the LM head only where a label is trained. Prompt tokens need no logits, and
    # with a 128k-256k vocabulary the head is a large share of the step. (LoRA layers live inside
    # the modules, so calling the decoder stack directly still trains them.) head_loss is the plain
    # head + cross-entropy, or Liger's fused linear cross-entropy (fast_path.head_loss).
    hidden = causal_lm.model(**batch.model_inputs(), use_cache=False).last_hidden_state
    targets = batch.labels[:, 1:]
    trained = targets != IGNORE
    return head_loss(causal_lm.lm_head, hidden[:, :-1][trained], targets[trained]) / window_trained_tokens


def run_finetune(spec: FinetuneSpec, spec_path: str, should_stop: Callable[[int], bool] = lambda _s: False) -> dict:
    """Trains, writes the adapter and result.json; returns the manifest body. should_stop(step) is
    checked after each optimizer step: when true, a checkpoint is written and the run ends as
    'preempted' (the CLI wires it to SIGTERM, which Kubernetes sends before evicting a pod)."""
    t0 = time.monotonic()
    hp = spec.train
    torch.manual_seed(hp.seed)
    device = loading.choose_device(spec.device, spec_path)
    threads = cpu_speed.configure_threads(device)
    autocast_dtype = cpu_speed.autocast_dtype(device)
    choice = loading.choose_method(spec.method, spec.baseModel, device)
    if choice.reason:
        if spec.requireMethod:
            from .errors import SpecError

            raise SpecError(spec_path, f"method {spec.method} unavailable: {choice.reason}", field="method")
        log(f"method {spec.method} requested, running {choice.method}: {choice.reason}")
    tokenizer = loading.load_tokenizer(spec.baseModel, spec_path)
    examples, dropped = load_examples(spec, tokenizer, spec_path)
    fp = fast_path.prepare(spec, device)
    model = loading.load_base_model(spec.baseModel, spec_path, device, choice.method == "qlora", fp.attention)
    fast_path.patch_model(fp, model)
    settings = fit.initial_settings(spec, choice.method)
    dtype = loading.compute_dtype(device)
    model = attach_lora(model, spec, choice.method == "qlora", dtype, settings.gradientCheckpointing)
    if spec.compileLayers:
        fp.compiledLayers = fast_path.compile_layers(model)
    head_loss = fast_path.head_loss(fp)
    model.train()
    load_s = time.monotonic() - t0

    def stream_for(s: fit.FitSettings):
        plans = [
            batching.plan_epoch(examples, hp.seed, e, hp.packing, s.batchSize, hp.maxSeqLength)
            for e in range(math.ceil(hp.epochs))
        ]
        stream = [(e, idx) for e, plan in enumerate(plans) for idx in plan]
        return stream[: math.ceil(len(plans[0]) * hp.epochs)] if plans else stream

    stream = stream_for(settings)
    total_steps = hp.maxSteps or max(1, math.ceil(len(stream) / settings.gradientAccumulation))

    params = [p for p in model.parameters() if p.requires_grad]
    # The fused kernel is one launch per step instead of one per parameter tensor (CUDA only).
    optimizer = torch.optim.AdamW(params, lr=hp.learningRate, weight_decay=hp.weightDecay, fused=fp.fusedAdamW or None)
    scheduler = get_scheduler(
        hp.lrScheduler if hp.lrScheduler != "constant" else "constant_with_warmup",
        optimizer,
        num_warmup_steps=int(hp.warmupRatio * total_steps),
        num_training_steps=total_steps,
    )

    scaler = fit.grad_scaler(device, dtype)
    state = {"step": 0, "tokens": 0, "trainedTokens": 0, "losses": [], "oomRetries": []}
    resumed_from = None
    ckpt = checkpoints.latest(spec.outputDir)
    if ckpt:
        state = checkpoints.load(ckpt, model, optimizer, scheduler)
        state.setdefault("oomRetries", [])
        resumed_from = state["step"]
        if "fit" in state and fit.FitSettings(**state["fit"]) != settings:
            # the run stepped down after an out-of-memory error: do not climb back up into it
            settings = fit.FitSettings(**state["fit"])
            fit.set_gradient_checkpointing(model, settings.gradientCheckpointing)
            stream = stream_for(settings)
        log(f"resuming from {ckpt} (step {resumed_from} of {total_steps})")
        emit("resume", step=resumed_from, total_steps=total_steps)

    pad_id = tokenizer.pad_token_id
    train_start = time.monotonic()
    tokens_at_start = state["tokens"]
    eta = Eta(total_steps, state["step"], train_start)
    preempted = False
    while state["step"] < total_steps:
        step = state["step"]
        ga = settings.gradientAccumulation
        window = [stream[(step * ga + k) % len(stream)] for k in range(ga)]
        out_of_memory = None
        try:
            batches = [
                batching.collate(examples, idx, hp.packing, pad_id, fp.attention).to(device) for _, idx in window
            ]
            window_trained = sum(b.trained_tokens for b in batches)
            loss_sum = 0.0
            for b in batches:
                with cpu_speed.autocast(device), fit.autocast(device, dtype):
                    loss = micro_batch_loss(model, b, window_trained, head_loss)
                scaler.scale(loss).backward()
                loss_sum += float(loss.detach())
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, hp.maxGradNorm)
            lr = scheduler.get_last_lr()[0]
            scaler.step(optimizer)  # skipped when fp16 gradients overflowed
            scaler.update()
        except Exception as e:  # noqa: BLE001 - only an out-of-memory error is handled, the rest re-raised
            if not fit.is_oom(e):
                raise
            out_of_memory = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
        if out_of_memory:
            # Outside the except block, so the failed step's frames (and their activations) are freed.
            batches = loss = None
            optimizer.zero_grad(set_to_none=True)
            # a fresh scaler (same scale): the failed step may have unscaled without the update that resets it
            scaler = fit.grad_scaler(device, dtype, init_scale=scaler.get_scale() if scaler.is_enabled() else 2.0**16)
            fit.release_memory()
            smaller = fit.after_oom(settings)
            if smaller is None:
                raise torch.OutOfMemoryError(
                    f"{out_of_memory} at step {step + 1}, with gradient checkpointing on and one row per"
                    " micro-batch: use a shorter maxSeqLength, a smaller model or a larger GPU"
                )
            state["oomRetries"].append({"step": step + 1, "error": out_of_memory, **dataclasses.asdict(settings)})
            log(f"out of memory at step {step + 1} ({settings}); retrying the step with {smaller}")
            settings = smaller
            fit.set_gradient_checkpointing(model, settings.gradientCheckpointing)
            stream = stream_for(settings)
            continue
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        state["step"] = step + 1
        state["fit"] = dataclasses.asdict(settings)
        state["tokens"] += sum(b.tokens for b in batches)
        state["trainedTokens"] += window_trained
        state["losses"].append(round(loss_sum, 6))
        now = time.monotonic()
        tps = (state["tokens"] - tokens_at_start) / max(now - train_start, 1e-9)
        emit(
            "progress",
            step=state["step"],
            total_steps=total_steps,
            epoch=round(window[-1][0] + 1, 3),
            loss=round(loss_sum, 6),
            lr=lr,
            tokens_per_s=round(tps, 1),
            eta_s=eta.seconds(state["step"], now),
        )
        stop = should_stop(state["step"])
        if state["step"] % hp.checkpointEverySteps == 0 or (stop and state["step"] < total_steps):
            path = checkpoints.save(spec.outputDir, state["step"], model, optimizer, scheduler, state)
            emit("checkpoint", step=state["step"], path=path)
        if stop and state["step"] < total_steps:
            preempted = True
            break
    train_s = time.monotonic() - train_start

    outputs = {}
    if not preempted:
        adapter_dir = os.path.join(spec.outputDir, "adapter")
        model.save_pretrained(adapter_dir)
        tokenizer.save_pretrained(adapter_dir)
        outputs["adapterDir"] = adapter_dir
        # A LoRA run merges the weights it trained in memory; a QLoRA run's are 4-bit, and merging into those
        # rounds the adapter away, so exports.py reloads the base in bf16 and applies the saved adapter.
        model_for_merge = model if choice.method == "lora" else None
        if spec.mergeWeights or spec.exportGguf:
            model = optimizer = None  # the QLoRA path reloads the base: free the training copy first
            fit.release_memory()
            outputs.update(exports.write_exports(spec, spec_path, adapter_dir, tokenizer, trained=model_for_merge))
    trained_now = state["tokens"] - tokens_at_start
    losses = state["losses"]
    body = dict(
        method=choice.method,
        requestedMethod=spec.method,
        methodReason=choice.reason,
        baseModel=spec.baseModel,
        device=device_name(device),
        dtype=str(dtype).replace("torch.", ""),
        autocast="bfloat16" if autocast_dtype or (device.type == "cuda" and dtype == torch.bfloat16) else None,
        threads=threads if device.type == "cpu" else None,
        metrics={
            "steps": state["step"],
            "totalSteps": total_steps,
            "examples": len(examples),
            "droppedExamples": dropped,
            "tokens": state["tokens"],
            "trainedTokens": state["trainedTokens"],
            "firstLoss": losses[0] if losses else None,
            "finalLoss": losses[-1] if losses else None,
            "trainLoss": round(sum(losses[-10:]) / len(losses[-10:]), 6) if losses else None,
            "losses": losses,
        },
        tokensPerSecond=round(trained_now / train_s, 1) if train_s > 0 else None,
        durations={
            "loadSeconds": round(load_s, 3),
            "trainSeconds": round(train_s, 3),
            "totalSeconds": round(time.monotonic() - t0, 3),
        },
        resumedFromStep=resumed_from,
        outputs=outputs,
        lora={"rank": spec.lora.rank, "alpha": spec.lora.alpha, "dropout": spec.lora.dropout},
        packing=hp.packing,
        # The attention, kernels, compiled layers and optimizer the run used, and why any differ from the spec.
        fastPath=fp.manifest(),
        # What the run trained with: the spec's settings, or a rung down after CUDA ran out of memory.
        fit={**dataclasses.asdict(settings), "oomRetries": state["oomRetries"]},
    )
    if "ggufSkipped" in outputs:
        body["ggufSkipped"] = outputs.pop("ggufSkipped")
    status = "preempted" if preempted else "succeeded"
    write_result(spec.outputDir, "finetune", status, **body)
    emit("done", status=status, result=os.path.join(spec.outputDir, "result.json"))
    return {"status": status, **body}
