from llamaduo_trainer.builtin_models import byte_tokenizer
from llamaduo_trainer.chat_tokens import IGNORE, tokenize_conversation


def labelled_text(tok, ex):
    return tok.decode([t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != IGNORE])


def test_only_assistant_turns_carry_labels():
    tok = byte_tokenizer()
    messages = [
        {"role": "system", "content": "sys prompt"},
        {"role": "user", "content": "question one"},
        {"role": "assistant", "content": "answer one"},
        {"role": "user", "content": "question two"},
        {"role": "assistant", "content": "answer two"},
    ]
    ex = tokenize_conversation(tok, messages, max_length=1024)
    assert len(ex.input_ids) == len(ex.labels)
    # Both answers and their end-of-turn tokens, nothing else.
    assert labelled_text(tok, ex) == "answer one<|end|>answer two<|end|>"
    masked = tok.decode([t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab == IGNORE])
    assert "question one" in masked and "sys prompt" in masked and "answer" not in masked
    # Labels equal the ids where set (the model shifts them itself).
    assert all(lab in (IGNORE, t) for t, lab in zip(ex.input_ids, ex.labels, strict=True))


def test_truncation_keeps_ids_and_labels_aligned():
    tok = byte_tokenizer()
    messages = [{"role": "user", "content": "q" * 50}, {"role": "assistant", "content": "a" * 50}]
    ex = tokenize_conversation(tok, messages, max_length=60)
    assert len(ex.input_ids) == len(ex.labels) == 60
    assert 0 < ex.trained_tokens < 50
