"""The JSON specs the TypeScript side writes (k8s/trainer/CONTRACT.md). Field names are camelCase to
match the zod schemas in activities/gpu/trainer-contract.ts."""

from __future__ import annotations

import json
import os
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from . import model_source
from .errors import SpecError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _absolute(value: str) -> str:
    if value.startswith("s3://"):
        if len(value) <= len("s3://") or value[len("s3://")] == "/":
            raise ValueError(f"must name a bucket, got {value!r}")
        return value
    if not os.path.isabs(value):
        raise ValueError(f"must be an absolute path or an s3:// URI, got {value!r}")
    return value


AbsPath = Annotated[str, AfterValidator(_absolute)]


def _model_source(value: str) -> str:
    model_source.parse(value)
    return value


# builtin:<name>, an absolute directory or .gguf file, s3://…, or a Hub id org/name[@revision].
BaseModel_ = Annotated[str, Field(min_length=1), AfterValidator(_model_source)]


class LoraParams(_Strict):
    rank: int = Field(8, gt=0)
    alpha: float = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0, le=1)
    targetModules: list[str] | Literal["all-linear"] = "all-linear"


class TrainParams(_Strict):
    """Paper Table 5 defaults; every one can be overridden by the spec."""

    epochs: float = Field(1, gt=0)
    maxSteps: int | None = Field(None, gt=0)
    learningRate: float = Field(2e-4, gt=0)
    lrScheduler: Literal["cosine", "linear", "constant"] = "cosine"
    warmupRatio: float = Field(0.03, ge=0, lt=1)
    weightDecay: float = Field(0.0, ge=0)
    maxSeqLength: int = Field(1024, gt=8)
    # Sequences per micro-batch when unpacked; with packing, one packed row holds batchSize * maxSeqLength tokens.
    batchSize: int = Field(4, gt=0)
    gradientAccumulation: int = Field(2, gt=0)
    packing: bool = True
    # None: on for QLoRA, off for LoRA (fit.initial_settings).
    gradientCheckpointing: bool | None = None
    checkpointEverySteps: int = Field(200, gt=0)
    seed: int = Field(42, ge=0)
    maxGradNorm: float = Field(1.0, gt=0)


class FinetuneSpec(_Strict):
    baseModel: BaseModel_
    # Where downloaded and dequantized base models are cached for the cluster (directory or s3:// prefix).
    modelCache: AbsPath | None = None
    # The migration's record of the commit a Hub revision resolved to (JSON file or s3:// object).
    baseModelLock: AbsPath | None = None
    datasets: list[AbsPath] = Field(min_length=1)
    outputDir: AbsPath
    method: Literal["qlora", "lora"] = "qlora"
    # When true, a missing 4-bit stack is an error instead of a fallback to LoRA (stated in the manifest).
    requireMethod: bool = False
    lora: LoraParams = LoraParams()
    train: TrainParams = TrainParams()
    mergeWeights: bool = False
    # A GGUF file (llama.cpp, Ollama) of the merged model, with an Ollama Modelfile; implies the merge.
    exportGguf: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # flash_attention_2 without CUDA or the flash-attn package runs sdpa (result.json fastPath says so).
    attnImplementation: Literal["sdpa", "eager", "flex_attention", "flash_attention_2"] = "sdpa"
    # 'liger': Liger's Triton kernels (RMSNorm, RoPE, SwiGLU/GeGLU, fused linear cross-entropy) where CUDA,
    # triton and liger-kernel are there; elsewhere the run goes on without them and says why.
    kernels: Literal["none", "liger"] = "none"
    # torch.compile on each decoder layer.
    compileLayers: bool = False


class SamplingParams(_Strict):
    responsesPerPrompt: int = Field(3, gt=0, le=64)
    temperature: float = Field(0.7, ge=0, le=2)
    topP: float = Field(0.95, gt=0, le=1)
    maxNewTokens: int = Field(512, gt=0)
    seed: int = Field(42, ge=0)
    # Prompts per forward pass (each expands to responsesPerPrompt rows).
    batchSize: int = Field(16, gt=0)


class GenerateSpec(_Strict):
    baseModel: BaseModel_
    modelCache: AbsPath | None = None
    baseModelLock: AbsPath | None = None
    adapterDir: AbsPath | None = None
    prompts: AbsPath
    outputDir: AbsPath
    sampling: SamplingParams = SamplingParams()
    maxPromptTokens: int = Field(1024, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # auto: vLLM (with the adapter as a LoRA) when it is installed and a CUDA device is visible, else
    # transformers; 'vllm' fails (exit 2) where it cannot run.
    engine: Literal["auto", "transformers", "vllm"] = "auto"


class ExportSpec(_Strict):
    """One adapter (the migration's best) exported after training: merged weights and/or a GGUF file."""

    baseModel: BaseModel_
    modelCache: AbsPath | None = None
    baseModelLock: AbsPath | None = None
    # The adapter folder a finetune run wrote (result.json outputs.adapterDir).
    adapterDir: AbsPath
    outputDir: AbsPath
    # Base + adapter merged (safetensors, with the tokenizer).
    merged: bool = True
    # A GGUF file of the merged model (llama.cpp, Ollama) and an Ollama Modelfile; implies the merge.
    gguf: bool = False


AnySpec = FinetuneSpec | GenerateSpec | ExportSpec


def load_spec(path: str, kind: type[AnySpec]) -> AnySpec:
    if path.startswith("s3://"):
        from . import remote

        text = remote.read_bytes(remote.S3Path.parse(path)).decode("utf-8")
    else:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise SpecError(path, f"cannot read spec: {e.strerror}") from e
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(path, f"not valid JSON: {e.msg} (column {e.colno})", line=e.lineno) from e
    try:
        return kind.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        raise SpecError(path, f"{message}{more}", field=field) from e
