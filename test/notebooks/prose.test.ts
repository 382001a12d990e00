import assert from 'node:assert/strict';
import type { Notebook } from '../../tools/notebooks/nbformat';
import { proseNumbers, unbackedProseNumbers } from '../../tools/notebooks/prose';

function notebook(
  markdown: string[],
  outputs: string[],
  settings?: Record<string, string>,
): Notebook {
  return {
    cells: [
      ...markdown.map((m) => ({ cell_type: 'markdown', metadata: {}, source: m })),
      {
        cell_type: 'code',
        metadata: {},
        source: 'x',
        execution_count: 1,
        outputs: outputs.map((t) => ({ output_type: 'stream', name: 'stdout', text: t })),
      },
    ],
    metadata: settings ? { attention: { settings } } : {},
    nbformat: 4,
    nbformat_minor: 5,
  } as unknown as Notebook;
}

describe('tools/notebooks/prose', () => {
  it('finds decimals, percentages and durations in prose, not counts, math, code or cited lines', () => {
    const nb = notebook(
      [
        'The model reached 97.5% after 41 s; weights of 0.25 and 3 heads (Figure 2).',
        'Math $0.5 x$ and `lr = 0.001` and\n$$y = 0.3$$\nare not claims.',
        'Vaswani et al. report 27.3 BLEU.',
        'Durations: 56 ms, 1,200 ms, 3 seconds.',
      ],
      [],
    );
    assert.deepEqual(
      proseNumbers(nb).map((n) => [n.cell, n.text]),
      [
        [1, '97.5%'],
        [1, '41 s'],
        [1, '0.25'],
        [4, '56 ms'],
        [4, '1,200 ms'],
        [4, '3 seconds'],
      ],
    );
  });

  const cases: Array<{ name: string; prose: string; printed: string; unbacked: string[] }> = [
    {
      name: 'printed number',
      prose: 'It holds 0.78 of attention.',
      printed: 'weight 0.78\n',
      unbacked: [],
    },
    {
      name: 'never printed',
      prose: 'It holds 0.78 of attention.',
      printed: 'weight 0.66\n',
      unbacked: ['0.78'],
    },
    {
      name: 'a longer number is not a match',
      prose: 'It is 0.78.',
      printed: 'x 0.785',
      unbacked: ['0.78'],
    },
    { name: 'nor a prefix of one', prose: 'It is 0.78.', printed: 'x 10.78', unbacked: ['0.78'] },
    {
      name: 'percent printed',
      prose: 'We got 99.6% right.',
      printed: 'exact match: 99.6% (2,000)',
      unbacked: [],
    },
    {
      name: 'thousands separators either way',
      prose: 'It took 1,200 ms.',
      printed: '1200 ms',
      unbacked: [],
    },
  ];
  for (const c of cases) {
    it(`unbacked: ${c.name}`, () => {
      const nb = notebook([c.prose], [c.printed]);
      assert.deepEqual(
        unbackedProseNumbers(nb, nb).map((n) => n.value),
        c.unbacked,
      );
    });
  }

  it('a number declared in metadata.attention.settings is exempt; a reason is required', () => {
    const prose = 'Training stops at 99.5% or after 60 s.';
    assert.deepEqual(
      unbackedProseNumbers(notebook([prose], ['']), notebook([prose], [''])).map((n) => n.text),
      ['99.5%', '60 s'],
    );
    const declared = notebook([prose], [''], {
      '99.5%': 'the stopping target',
      '60 s': 'the budget',
    });
    assert.deepEqual(unbackedProseNumbers(declared, declared), []);
    const noReason = notebook([prose], [''], { '60 s': '' });
    assert.throws(
      () => unbackedProseNumbers(noReason, noReason),
      /settings\["60 s"\]: expected a reason/,
    );
  });

  it('rejects what is not a notebook, naming the argument', () => {
    assert.throws(
      () => proseNumbers(null as unknown as Notebook),
      /proseNumbers: nb: expected a notebook/,
    );
  });
});
