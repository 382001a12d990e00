import assert from 'node:assert/strict';
import { checkClaims, ClaimError, writeUp, type Claim } from '../../src/course/claims';
import { setDisplaySink, type MimeBundle } from '../../src/viz/display';

describe('course/claims', () => {
  let shown: MimeBundle[] = [];
  beforeEach(() => {
    shown = [];
    setDisplaySink((b) => shown.push(b));
  });
  afterEach(() => setDisplaySink(null));

  const holds: Claim = {
    statement: 'attention holds at length 40',
    holds: true,
    measured: 'attention 97.5%',
  };
  const fails: Claim = {
    statement: 'the baseline falls',
    holds: false,
    measured: 'baseline 96.0%',
  };
  const full = { env: {} };
  const fast = { env: { ATTENTION_FAST: '1' } };

  it('writeUp shows the markdown it is given, as markdown and plain text', () => {
    writeUp('The model reached **97.5%**.');
    assert.deepEqual(shown, [
      {
        'text/markdown': 'The model reached **97.5%**.',
        'text/plain': 'The model reached **97.5%**.',
      },
    ]);
  });

  it('in the default mode, findings that hold are shown with a check mark and their evidence', () => {
    const report = checkClaims([holds], full);
    assert.deepEqual(report, { mode: 'checked', failed: [] });
    assert.match(
      String(shown[0]['text/plain']),
      /✓ attention holds at length 40 \(measured: attention 97\.5%\)/,
    );
  });

  it('in the default mode, a finding that does not hold throws ClaimError naming it and its evidence', () => {
    assert.throws(
      () => checkClaims([holds, fails], full),
      (e: unknown) =>
        e instanceof ClaimError &&
        e.failed.length === 1 &&
        /1 finding\(s\).*\n {2}- the baseline falls \(measured: baseline 96\.0%\)/.test(e.message),
    );
    assert.match(String(shown[0]['text/plain']), /✗ the baseline falls/);
  });

  it('in fast mode, findings are shown as not checked and nothing throws', () => {
    const report = checkClaims([fails], fast);
    assert.equal(report.mode, 'shown');
    assert.equal(report.failed.length, 1);
    assert.match(String(shown[0]['text/plain']), /fast mode: too little training/);
    assert.doesNotMatch(String(shown[0]['text/plain']), /✗|✓/);
  });

  const bad: Array<[string, () => unknown, RegExp]> = [
    [
      'no claims',
      () => checkClaims([], full),
      /claims: expected a non-empty array.*got an empty array/,
    ],
    [
      'not an array',
      () => checkClaims('x' as unknown as Claim[], full),
      /claims: expected a non-empty array.*got string/,
    ],
    [
      'holds not boolean',
      () => checkClaims([{ ...holds, holds: 1 as unknown as boolean }], full),
      /claims\[0\]\.holds: expected a boolean.*got number/,
    ],
    [
      'empty statement',
      () => checkClaims([{ ...holds, statement: ' ' }], full),
      /claims\[0\]\.statement: expected a non-empty string, got an empty string/,
    ],
    [
      'missing evidence',
      () => checkClaims([{ statement: 's', holds: true } as Claim], full),
      /claims\[0\]\.measured: expected a non-empty string, got undefined/,
    ],
    [
      'writeUp of a number',
      () => writeUp(3 as unknown as string),
      /writeUp: markdown: expected a non-empty string, got number/,
    ],
  ];
  for (const [name, call, message] of bad) {
    it(`rejects ${name} with a message naming the argument`, () => assert.throws(call, message));
  }
});
