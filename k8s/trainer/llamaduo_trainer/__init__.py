"""llamaduo trainer: LoRA/QLoRA fine-tuning and batched generation for the llamaduo pipeline."""

__version__ = "0.1.0"
