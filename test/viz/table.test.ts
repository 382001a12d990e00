import * as assert from 'node:assert/strict';
import { setDisplaySink, type MimeBundle } from '../../src/viz/display';
import { showTable, tableBundle } from '../../src/viz/table';

describe('showTable', () => {
  const rows = [
    { kernel: 'Gaussian', 'K(u)': 'exp(-u²/2)', error: 0.123456 },
    { kernel: 'boxcar', 'K(u)': '1 if |u| <= 1, else 0', error: 12 },
  ];

  it('pads plain text: text left, numbers right, 4 significant digits by default', () => {
    const { 'text/plain': text } = tableBundle(rows);
    assert.equal(
      text,
      [
        'kernel    K(u)                    error',
        'Gaussian  exp(-u²/2)             0.1235',
        'boxcar    1 if |u| <= 1, else 0      12',
      ].join('\n'),
    );
  });

  it('writes an escaped HTML table whose cells never wrap, with a caption', () => {
    const html = tableBundle(rows, { title: 'a < b', digits: 2 })['text/html'] as string;
    assert.match(html, /^<table class="ah-table"/);
    assert.match(html, /<caption[^>]*>a &lt; b<\/caption>/);
    assert.equal((html.match(/<tr>/g) ?? []).length, 3);
    // data cells never wrap (a formula stays whole); headers may wrap to save width
    assert.equal((html.match(/<td style="[^"]*white-space:nowrap/g) ?? []).length, 6);
    assert.equal((html.match(/<th style="[^"]*white-space:normal/g) ?? []).length, 3);
    assert.match(html, /1 if \|u\| &lt;= 1, else 0/);
    assert.match(html, /text-align:right">0\.12<\/td>/);
    assert.match(html, /text-align:right">12<\/td>/, 'integers stay integers');
  });

  it('takes digits per column', () => {
    const { 'text/plain': text } = tableBundle([{ n: 3, x: 0.5 }], { digits: { x: 3 } });
    assert.equal(text, 'n      x\n3  0.500');
    assert.throws(
      () => tableBundle([{ n: 1 }], { digits: { m: 1 } }),
      /digits: expected column names \(n\), got "m"/,
    );
  });

  it('is what showTable displays', () => {
    const shown: MimeBundle[] = [];
    setDisplaySink((b) => shown.push(b));
    try {
      showTable(rows);
      assert.deepEqual(shown, [tableBundle(rows)]);
    } finally {
      setDisplaySink(null);
    }
  });

  const errors: [string, () => unknown, RegExp][] = [
    [
      'no rows',
      () => tableBundle([]),
      /rows: expected a non-empty array of row objects, got an array of length 0/,
    ],
    [
      'a row with other columns',
      () => tableBundle([{ a: 1 }, { b: 2 }]),
      /rows\[1\]: expected the columns of rows\[0\] \(a\), got b/,
    ],
    [
      'a value that is not text or a number',
      () => tableBundle([{ a: null as unknown as number }]),
      /rows\[0\]\.a: expected a string or a number, got null/,
    ],
    [
      'bad digits',
      () => tableBundle([{ a: 1 }], { digits: -1 }),
      /digits: expected an integer from 0 to 20, got -1/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what}`, () => assert.throws(thunk, message));
  }
});
