import os

from llamaduo_trainer.tmpnames import tmp_name


def test_tmp_names_differ_per_call_and_name_the_pod(monkeypatch):
    monkeypatch.setattr("socket.gethostname", lambda: "llamaduo-m-c0-finetune-abcde")
    a, b = tmp_name("/artifacts/x/result.json"), tmp_name("/artifacts/x/result.json")
    assert a != b
    assert a.startswith("/artifacts/x/result.json.tmp-llamaduo-m-c0-finetune-abcde-")
    assert os.path.dirname(a) == "/artifacts/x"
