"""`export`: the merged weights and/or GGUF file of one finished adapter (the migration's best), as a step of
its own after training, so a migration exports the adapter it ends with instead of every cycle's."""

from __future__ import annotations

import os
import time

from . import exports, loading
from .errors import SpecError
from .manifest import write_result
from .progress import emit, log
from .spec import ExportSpec


def run_export(spec: ExportSpec, spec_path: str) -> dict:
    t0 = time.monotonic()
    if not os.path.isfile(os.path.join(spec.adapterDir, "adapter_config.json")):
        raise SpecError(spec_path, f"{spec.adapterDir} holds no adapter_config.json", field="adapterDir")
    tokenizer = loading.load_tokenizer(spec.baseModel, spec_path)
    log(f"exporting {spec.adapterDir} (merged={spec.merged or spec.gguf}, gguf={spec.gguf})")
    outputs = exports.write_exports(spec, spec_path, spec.adapterDir, tokenizer)
    body: dict = dict(
        baseModel=spec.baseModel,
        adapterDir=spec.adapterDir,
        durations={"totalSeconds": round(time.monotonic() - t0, 3)},
        outputs=outputs,
    )
    if "ggufSkipped" in outputs:
        body["ggufSkipped"] = outputs.pop("ggufSkipped")
    write_result(spec.outputDir, "export", "succeeded", **body)
    emit("done", status="succeeded", result=os.path.join(spec.outputDir, "result.json"))
    return {"status": "succeeded", **body}
