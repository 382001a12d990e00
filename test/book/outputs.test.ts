import { strict as assert } from 'node:assert';
import { createMarkdown, newRenderEnv } from '../../tools/book/markdown';
import type { Output } from '../../tools/notebooks/nbformat';
import {
  PLOTLY_MIME,
  renderBundle,
  renderOutput,
  scriptJson,
  stripAnsi,
  type OutputContext,
} from '../../tools/book/outputs';

const ctx = (): OutputContext => ({ md: createMarkdown(), env: newRenderEnv(), figures: 0 });

describe('book outputs', () => {
  const figure = { data: [{ type: 'scatter', x: [1, 2], y: [3, 4] }], layout: { width: 300 } };
  const bundles: { name: string; data: Record<string, unknown>; has: RegExp; lacks?: RegExp }[] = [
    {
      name: 'a plotly figure wins over its HTML fallback, which stays inside until plotly draws',
      data: {
        [PLOTLY_MIME]: figure,
        'text/html': '<svg id="fallback"></svg>',
        'text/plain': 'Figure',
      },
      has: /<div class="plotly-figure" id="figure-1" data-figure="figure-1-json"><svg id="fallback"><\/svg><\/div>\n<script type="application\/json" id="figure-1-json">/,
      lacks: /Figure</,
    },
    {
      name: 'HTML wins over text',
      data: { 'text/html': '<b>hi</b>', 'text/plain': 'hi' },
      has: /<div class="output-html"><b>hi<\/b><\/div>/,
    },
    {
      name: 'PNG becomes a data URL',
      data: { 'image/png': 'iVBO\nRw==' },
      has: /<img alt="figure" src="data:image\/png;base64,iVBORw=="/,
    },
    {
      name: 'markdown is rendered',
      data: { 'text/markdown': '**bold**' },
      has: /<strong>bold<\/strong>/,
    },
    {
      name: 'LaTeX is rendered by KaTeX',
      data: { 'text/latex': '$$x^2$$' },
      has: /class="katex-display"/,
    },
    {
      name: 'text is escaped',
      data: { 'text/plain': ['a < b', ' & c'] },
      has: /<pre class="output-text">a &lt; b &amp; c<\/pre>/,
    },
    {
      name: 'unknown types are named',
      data: { 'application/x-odd': 1 },
      has: /cannot show: application\/x-odd/,
    },
    {
      name: 'a plotly payload without data is reported',
      data: { [PLOTLY_MIME]: { layout: {} } },
      has: /has no <code>data<\/code> array/,
    },
  ];
  for (const b of bundles) {
    it(b.name, () => {
      const html = renderBundle(b.data, ctx());
      assert.match(html, b.has);
      if (b.lacks) assert.doesNotMatch(html, b.lacks);
    });
  }

  it('numbers figures on a page and embeds their JSON so it round-trips', () => {
    const c = ctx();
    renderBundle({ [PLOTLY_MIME]: figure }, c);
    const html = renderBundle({ [PLOTLY_MIME]: figure }, c);
    assert.equal(c.figures, 2);
    const json = /<script type="application\/json" id="figure-2-json">(.*)<\/script>/.exec(
      html,
    )![1];
    assert.deepEqual(JSON.parse(json), figure);
  });

  it('keeps data from closing the script element it sits in', () => {
    const text = scriptJson({ label: '</script><script>alert(1)</script>\u2028' });
    assert.doesNotMatch(text, /<\/script/i);
    assert.doesNotMatch(text, /\u2028/);
    assert.deepEqual(JSON.parse(text), { label: '</script><script>alert(1)</script>\u2028' });
  });

  const streams: [Output, RegExp][] = [
    [
      { output_type: 'stream', name: 'stdout', text: ['x = 1\n'] },
      /<pre class="output-text output-stdout">x = 1\n<\/pre>/,
    ],
    [
      { output_type: 'stream', name: 'stderr', text: '\x1b[31mError\x1b[0m: <no>' },
      /<pre class="output-text output-stderr">Error: &lt;no&gt;<\/pre>/,
    ],
    [
      { output_type: 'error', ename: 'RangeError', evalue: 'bad', traceback: [] },
      /output-stderr">RangeError: bad</,
    ],
  ];
  for (const [output, html] of streams) {
    const label = output.output_type === 'stream' ? output.name : output.output_type;
    it(`renders a ${output.output_type} output (${label})`, () =>
      assert.match(renderOutput(output, ctx()), html));
  }

  it('strips ANSI colour codes', () => assert.equal(stripAnsi('\x1b[1;31mred\x1b[0m'), 'red'));
});
