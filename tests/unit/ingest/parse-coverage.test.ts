import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatasetErrors } from '../../../activities/data/ingest/coverage-record';
import { parseCoverageBytes, parseCoverageFile } from '../../../activities/data/ingest/parse-coverage';
import { DOLLY, SHARED_DATA } from '../../helpers/test-config';
import path from 'node:path';

const opts = { maxRecordChars: 2000 };
const parse = (text: string | Buffer) =>
  parseCoverageBytes('cov.jsonl', typeof text === 'string' ? Buffer.from(text) : text, opts);
const jsonl = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

function rejectsWith(text: string | Buffer, pattern: RegExp) {
  assert.throws(
    () => parse(text),
    (err: unknown) => {
      assert.ok(err instanceof DatasetErrors, `expected DatasetErrors, got ${err}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('coverage dataset parsing', () => {
  it('normalizes the three accepted shapes (and Alpaca) to one record', () => {
    const { records } = parse(
      jsonl(
        {
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Q1' },
            { role: 'assistant', content: 'A1' },
          ],
        },
        { prompt: 'Q2', response: 'A2', category: 'qa' },
        { instruction: 'Q3', context: 'ctx', response: 'A3', category: 'closed_qa' },
        { instruction: 'Q4', input: 'in', output: 'A4', id: 'alp-1' },
      ),
    );
    assert.deepEqual(
      records.map((r) => [
        r.instruction,
        r.context,
        r.response,
        r.category,
        r.provenance.shape,
        r.provenance.line,
      ]),
      [
        ['Q1', 'Be brief.', 'A1', 'default', 'messages', 1],
        ['Q2', '', 'A2', 'qa', 'prompt-response', 2],
        ['Q3', 'ctx', 'A3', 'closed_qa', 'dolly', 3],
        ['Q4', 'in', 'A4', 'default', 'alpaca', 4],
      ],
    );
    assert.equal(records[3]!.id, 'alp-1');
    assert.match(records[0]!.id, /^[0-9a-f]{16}$/);
  });

  it('gives content-derived ids that do not depend on line order', () => {
    const a = parse(jsonl({ prompt: 'x', response: 'y' }, { prompt: 'p', response: 'q' })).records;
    const b = parse(jsonl({ prompt: 'p', response: 'q' }, { prompt: 'x', response: 'y' })).records;
    assert.equal(a[0]!.id, b[1]!.id);
  });

  it('accepts a JSON array', () => {
    const { records } = parse(JSON.stringify([{ prompt: 'a', response: 'b' }]));
    assert.equal(records.length, 1);
  });

  it('drops exact duplicate records without ids and counts them', () => {
    const r = parse(jsonl({ prompt: 'a', response: 'b' }, { prompt: 'a', response: 'b' }));
    assert.equal(r.records.length, 1);
    assert.equal(r.duplicatesDropped, 1);
  });

  it('names file, line and field for each problem', () => {
    rejectsWith('{"prompt":"a","response":"b"}\n{"prompt": "a",\n', /cov\.jsonl:2: broken JSON/);
    rejectsWith(
      jsonl({ prompt: 'a', response: 'b' }, { prompt: 'c' }),
      /cov\.jsonl:2 field 'response': is missing/,
    );
    rejectsWith(jsonl({ prompt: 'a', response: '   ' }), /cov\.jsonl:1 field 'response': is empty/);
    rejectsWith(jsonl({ prompt: 'a', response: 3 }), /field 'response': must be a string, got number/);
    rejectsWith(
      jsonl({ id: 'x', prompt: 'a', response: 'b' }, { id: 'x', prompt: 'c', response: 'd' }),
      /cov\.jsonl:2 field 'id': duplicate id 'x' \(first on line 1\)/,
    );
    rejectsWith(
      jsonl({ prompt: 'a', response: 'b'.repeat(3000) }),
      /cov\.jsonl:1: record is 3001 characters, over the limit of 2000/,
    );
    rejectsWith(jsonl({ foo: 1 }), /cov\.jsonl:1: unknown record shape \(keys: foo\)/);
    rejectsWith(
      jsonl({ messages: [{ role: 'user', content: 'q' }] }),
      /field 'messages': has no non-empty assistant message/,
    );
    rejectsWith(
      jsonl({ messages: [{ role: 'robot', content: 'q' }] }),
      /field 'messages\[0\]\.role': must be system, user or assistant/,
    );
    rejectsWith(jsonl([1, 2]), /cov\.jsonl:1: expected a JSON object/);
    rejectsWith('', /cov\.jsonl: file is empty/);
    rejectsWith('\n  \n', /file is empty/);
  });

  it('rejects invalid UTF-8 naming the line', () => {
    const bytes = Buffer.concat([
      Buffer.from(jsonl({ prompt: 'a', response: 'b' })),
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]),
    ]);
    rejectsWith(bytes, /cov\.jsonl:2: not valid UTF-8/);
  });

  it('reports every bad line at once', () => {
    assert.throws(
      () => parse('{bad\n{"prompt":"a","response":"b"}\n{worse\n'),
      (err: DatasetErrors) => err.errors.length === 2 && /2 problems/.test(err.message),
    );
  });

  it('names a missing file', async () => {
    await assert.rejects(
      parseCoverageFile('/no/such/file.jsonl', opts),
      /\/no\/such\/file\.jsonl: cannot read file \(ENOENT\)/,
    );
  });

  it('reads the real Dolly 15k file', async () => {
    const r = await parseCoverageFile(DOLLY, { maxRecordChars: 64_000 });
    // 15,011 records, 8 of them exact copies of another (shared/data/raw/SOURCES.md)
    assert.equal(r.records.length + r.duplicatesDropped, 15_011);
    assert.equal(r.records.filter((x) => x.category === 'summarization').length > 1000, true);
  });

  it('finds the records with empty outputs in the real Alpaca subsets', async () => {
    const lines = async (file: string) =>
      parseCoverageFile(path.join(SHARED_DATA, 'alpaca_subsets', file), { maxRecordChars: 64_000 }).then(
        () => assert.fail('expected an error'),
        (err: DatasetErrors) => err.errors.map((e) => `${e.line}:${e.field}:${e.problem}`),
      );
    assert.deepEqual(await lines('alpaca_5000.jsonl'), ['2336:output:is empty', '4659:output:is empty']);
    assert.deepEqual(await lines('code_alpaca_2k.jsonl'), ['238:output:is empty', '1860:output:is empty']);
  });
});
