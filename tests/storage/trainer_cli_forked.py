"""Runs the trainer CLI once per case, each in a child forked from one process that imported torch once.

Importing torch costs most of a short CLI run (tens of seconds on a loaded CPU). Error cases that fail while
fetching the base model need the real CLI (argv, env, exit code, stderr) but not a fresh torch each, so this
imports torch here and forks: each child sets its case's environment, then runs llamaduo_trainer's main()
and exits with its return code. huggingface_hub and boto3 read the environment when first imported or
used, so they are left for the child to import.

usage: python trainer_cli_forked.py, then one JSON line per run on stdin:
  {"argv": [...], "env": {...}, "stdout": "<file>", "stderr": "<file>"}
answered, once that run has exited, by one JSON line on stdout: {"code": <exit code>}. Runs are one at a time,
so the caller can look at what a run did before starting the next; a line {"batch": [case, ...]} starts its
cases at once (two Jobs racing) and is answered {"codes": [...]} once all have exited. EOF on stdin ends it."""

from __future__ import annotations

import json
import os
import sys
import traceback

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402, F401 - imported once here, inherited by every child

for _name in ("huggingface_hub", "boto3", "botocore"):
    assert _name not in sys.modules, f"{_name} must be imported by each child, after its environment is set"


def _child(case: dict) -> int:
    os.environ.update(case["env"])
    for fd, name in ((1, "stdout"), (2, "stderr")):
        out = os.open(case[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, fd)
        os.close(out)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    try:
        from llamaduo_trainer.__main__ import main

        return main(case["argv"])
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - an unexpected crash is exit 1, as in a real run
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _start(case: dict) -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(_child(case))
    return pid


def _exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def main() -> None:
    for line in sys.stdin:
        case = json.loads(line)
        if "batch" in case:
            pids = [_start(c) for c in case["batch"]]
            print(json.dumps({"codes": [_exit_code(p) for p in pids]}), flush=True)
        else:
            print(json.dumps({"code": _exit_code(_start(case))}), flush=True)


if __name__ == "__main__":
    main()
