"""`python -m llamaduo_trainer finetune|generate|export --spec <path.json | s3://…>` (k8s/trainer/CONTRACT.md).

Exit codes: 0 succeeded, 2 bad spec or dataset, or an object store that refuses for a reason retrying
cannot fix (do not retry), 3 preempted after a checkpoint (run again to resume), 1 any other failure.
result.json is written in every case that knows outputDir (uploaded too when outputDir is s3://)."""

from __future__ import annotations

import os

# Before torch loads libgomp: idle OpenMP threads sleep instead of spinning. On a CPU shared with other
# work, spinning threads steal the cores the busy ones need (LoRA steps measured 4.5x faster with it on a
# loaded 2-core machine, docs/benchmarks.md); on a dedicated GPU node it changes nothing that matters.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

from .errors import SpecError, StoreError  # noqa: E402
from .manifest import write_result  # noqa: E402
from .progress import emit, log  # noqa: E402
from .spec import ExportSpec, FinetuneSpec, GenerateSpec, load_spec  # noqa: E402

EXIT_BAD_SPEC = 2
EXIT_PREEMPTED = 3


def _record_failure(stage, out_dir: str, command: str, error: dict) -> None:
    if out_dir.startswith("s3://"):
        return  # staging never started: there is no local result to upload
    write_result(out_dir, command, "failed", error=error)
    if stage is None:
        return
    try:
        stage.publish_result()
    except Exception as e:  # noqa: BLE001 - the exit code still tells the caller what happened
        log(f"could not upload result.json: {e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llamaduo_trainer")
    parser.add_argument("command", choices=["finetune", "generate", "export"])
    parser.add_argument("--spec", required=True, help="path or s3:// URI of the JSON spec")
    args = parser.parse_args(argv)

    kind = {"finetune": FinetuneSpec, "generate": GenerateSpec, "export": ExportSpec}[args.command]
    try:
        spec = load_spec(args.spec, kind)
    except (SpecError, StoreError) as e:
        log(str(e))
        emit("error", kind="spec", message=str(e))
        return EXIT_BAD_SPEC

    term = {"requested": False}

    def on_sigterm(_signum, _frame):
        log("SIGTERM: checkpointing after the current step")
        term["requested"] = True

    signal.signal(signal.SIGTERM, on_sigterm)
    stage = None
    out_dir = spec.outputDir
    try:
        from .staging import Staging, needs_staging

        if needs_staging(spec):
            stage = Staging(spec, args.spec)
            out_dir = stage.local_out
            spec = stage.localize()
        if args.command == "finetune":
            from .finetune import run_finetune

            result = run_finetune(spec, args.spec, should_stop=lambda _step: term["requested"])
        elif args.command == "export":
            from .export import run_export

            result = run_export(spec, args.spec)
        else:
            from .generate import run_generate

            result = run_generate(spec, args.spec)
        if stage:
            stage.publish()
    except (SpecError, StoreError) as e:
        log(str(e))
        emit("error", kind="spec", message=str(e))
        _record_failure(stage, out_dir, args.command, {"kind": "spec", "message": str(e)})
        return EXIT_BAD_SPEC
    except Exception as e:  # noqa: BLE001 - any failure must still leave a manifest behind
        traceback.print_exc(file=sys.stderr)
        message = f"{type(e).__name__}: {e}"
        emit("error", kind="runtime", message=message)
        _record_failure(stage, out_dir, args.command, {"kind": "runtime", "message": message})
        return 1
    finally:
        if stage:
            stage.close()
    return EXIT_PREEMPTED if result["status"] == "preempted" else 0


if __name__ == "__main__":
    sys.exit(main())
