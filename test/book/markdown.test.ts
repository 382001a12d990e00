import { strict as assert } from 'node:assert';
import {
  createMarkdown,
  newRenderEnv,
  notebookLinkToPage,
  renderMarkdown,
  slugify,
} from '../../tools/book/markdown';

const md = createMarkdown();
const render = (source: string) => {
  const env = newRenderEnv();
  return { html: renderMarkdown(md, source, env), env };
};
/** KaTeX keeps the TeX it rendered in a MathML annotation: the independent witness of what became math. */
const texOf = (html: string) =>
  [...html.matchAll(/<annotation encoding="application\/x-tex">([\s\S]*?)<\/annotation>/g)].map(
    (m) => m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'),
  );

describe('book markdown: math', () => {
  const cases: { name: string; source: string; tex: string[]; display: number }[] = [
    { name: 'inline $...$', source: 'a $x^2$ b', tex: ['x^2'], display: 0 },
    {
      name: 'display $$...$$ in a paragraph',
      source: 'see\n$$\\frac{a}{b}$$\nthen',
      tex: ['\\frac{a}{b}'],
      display: 1,
    },
    {
      name: 'display block over lines',
      source: '$$\na = b\n+ c\n$$',
      tex: ['a = b\n+ c'],
      display: 1,
    },
    {
      name: 'a line starting "- " inside display math is not a list',
      source: '$$\n- x\n$$',
      tex: ['- x'],
      display: 1,
    },
    {
      name: 'underscores inside math are not emphasis',
      source: '$a_i b_j$ and $c_k$',
      tex: ['a_i b_j', 'c_k'],
      display: 0,
    },
    { name: 'escaped dollars are text', source: 'costs \\$5 and \\$6', tex: [], display: 0 },
    { name: 'prices are not math', source: 'costs $5 and $6 today', tex: [], display: 0 },
    { name: 'a dollar followed by space opens nothing', source: 'a $ b $ c', tex: [], display: 0 },
    { name: 'code spans are never math', source: 'run `echo $HOME$` now', tex: [], display: 0 },
    {
      name: 'fenced code is never math',
      source: '```\nconst s = `$x$`;\n```',
      tex: [],
      display: 0,
    },
    { name: 'an escaped dollar inside math', source: '$\\$3 + x$', tex: ['\\$3 + x'], display: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { html, env } = render(c.source);
      assert.deepEqual(texOf(html), c.tex);
      assert.equal((html.match(/class="katex-display"/g) ?? []).length, c.display);
      assert.deepEqual(env.mathErrors, []);
    });
  }

  it('keeps a literal dollar visible when it is not math', () => {
    assert.match(render('costs \\$5 and \\$6').html, /costs \$5 and \$6/);
    assert.match(render('run `echo $HOME$` now').html, /<code>echo \$HOME\$<\/code>/);
  });

  it('shows TeX KaTeX cannot parse in red with the message, and records it', () => {
    const { html, env } = render('bad $\\frac{a$ here');
    assert.match(
      html,
      /<span class="math-error" title="[^"]*KaTeX parse error[^"]*">\\frac\{a<\/span>/,
    );
    assert.equal(env.mathErrors.length, 1);
    assert.match(env.mathErrors[0], /\$\\frac\{a\$/);
  });
});

describe('book markdown: headings, links, code', () => {
  it('gives every heading a unique id and a # link, and lists it for the table of contents', () => {
    const env = newRenderEnv();
    const html = renderMarkdown(md, '# Title\n## Why $\\sqrt{d}$?\n## Summary\n## Summary', env);
    assert.deepEqual(
      env.headings.map((h) => [h.level, h.id]),
      [
        [1, 'title'],
        [2, 'why-sqrtd'],
        [2, 'summary'],
        [2, 'summary-1'],
      ],
    );
    assert.match(html, /<h2 id="summary-1">Summary<a class="anchor" href="#summary-1"/);
    assert.match(
      env.headings[1].text,
      /class="katex"/,
      'math in a heading is rendered in the table of contents',
    );
  });

  it('keeps ids unique across the cells of one page', () => {
    const env = newRenderEnv();
    renderMarkdown(md, '## Exercises', env);
    renderMarkdown(md, '## Exercises', env);
    assert.deepEqual(
      env.headings.map((h) => h.id),
      ['exercises', 'exercises-1'],
    );
  });

  const slugs: [string, string][] = [
    ['Nadaraya-Watson: weights from distances', 'nadaraya-watson-weights-from-distances'],
    ['Élan vital', 'elan-vital'],
    ['???', 'section'],
  ];
  for (const [text, id] of slugs) {
    it(`slugifies "${text}" as "${id}"`, () => assert.equal(slugify(text, new Set()), id));
  }

  const links: [string, string][] = [
    ['01-attention-pooling.ipynb', '01-attention-pooling.html'],
    ['./02-scoring-functions.ipynb#masking', '02-scoring-functions.html#masking'],
    ['https://example.org/a.ipynb', 'https://example.org/a.ipynb'],
    ['../exercises/x.ts', '../exercises/x.ts'],
  ];
  for (const [href, page] of links) {
    it(`links ${href} to ${page}`, () => assert.equal(notebookLinkToPage(href), page));
  }

  it('highlights fenced TypeScript', () => {
    const { html } = render('```ts\nconst x: number = 1;\n```');
    assert.match(html, /<span class="hljs-keyword">const<\/span>/);
  });
});
