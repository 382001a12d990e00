import * as assert from 'node:assert/strict';
import { viridis } from '../../src/viz/colormap';
import { setDisplaySink, type MimeBundle } from '../../src/viz/display';
import {
  checkFigure,
  composeFigure,
  figureBundle,
  showFigure,
  toPlotly,
  toSvg,
  type Figure,
  type Panel,
} from '../../src/viz/figure';
import { decodePngUri, pixelAt } from './decode-png';

/** Plotly JSON is untyped by design; tests read it as plain records. */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function plotly(fig: Figure): { data: Json[]; layout: Json } {
  return toPlotly(fig) as { data: Json[]; layout: Json };
}

function matrix(rows: number, cols: number, f: (i: number, j: number) => number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => f(i, j)));
}

function count(haystack: string, needle: string | RegExp): number {
  return (haystack.match(new RegExp(needle, 'g')) ?? []).length;
}

function imageHrefs(svg: string): string[] {
  return [...svg.matchAll(/<image [^>]*href="([^"]+)"/g)].map((m) => m[1]);
}

const heat = (z: number[][], extra: Partial<Panel> = {}): Panel =>
  ({ kind: 'heatmap', z, ...extra }) as Panel;
const lines: Panel = {
  kind: 'lines',
  series: [
    { name: 'train', x: [0, 1, 2], y: [1, 0.5, 0.25] },
    { name: 'val', x: [0, 1, 2], y: [1.2, 0.7, 0.4], mode: 'markers' },
  ],
};

describe('toPlotly', () => {
  it('makes a heatmap trace with row 0 on top, rounded values and missing cells as null', () => {
    const fig: Figure = {
      panels: [heat([[0.123456, 1, NaN]], { xLabels: ['a', 'b', 'c'], zmin: 0, zmax: 2 })],
    };
    const { data, layout } = plotly(fig);
    assert.equal(data.length, 1);
    assert.equal(data[0].type, 'heatmap');
    assert.deepEqual(data[0].z, [[0.1235, 1, null]]);
    assert.equal(data[0].zmin, 0);
    assert.equal(data[0].zmax, 2);
    assert.equal(layout.yaxis.autorange, 'reversed');
    assert.deepEqual(layout.xaxis.tickvals, [0, 1, 2]);
    assert.deepEqual(layout.xaxis.ticktext, ['a', 'b', 'c']);
  });

  it('keeps repeated tokens as separate columns and escapes markup in labels', () => {
    const { layout } = plotly({
      panels: [heat([[0, 1, 2]], { xLabels: ['the', 'the', '<pad>&'] })],
    });
    assert.deepEqual(layout.xaxis.tickvals, [0, 1, 2]);
    assert.deepEqual(layout.xaxis.ticktext, ['the', 'the', '&lt;pad&gt;&amp;']);
  });

  it('takes the colour range from the finite data when none is given', () => {
    const { data } = plotly({
      panels: [
        heat([
          [-Infinity, 2],
          [5, NaN],
        ]),
      ],
    });
    assert.equal(data[0].zmin, 2);
    assert.equal(data[0].zmax, 5);
    const constant = plotly({ panels: [heat([[3, 3]])] });
    assert.ok(constant.data[0].zmin < constant.data[0].zmax, 'a constant matrix gets a range');
  });

  it('lays out a grid with non-overlapping axis domains inside [0, 1]', () => {
    const z = matrix(2, 2, (i, j) => i + j);
    const fig: Figure = { panels: [heat(z), lines, heat(z), heat(z), lines], columns: 3 };
    const { data, layout } = plotly(fig);
    const boxes = fig.panels.map((_, i) => {
      const k = i === 0 ? '' : String(i + 1);
      const xa = layout[`xaxis${k}`];
      const ya = layout[`yaxis${k}`];
      assert.ok(xa && ya, `axes of panel ${i}`);
      assert.equal(xa.anchor, `y${k}`);
      assert.equal(ya.anchor, `x${k}`);
      for (const d of [xa.domain, ya.domain]) {
        assert.ok(d[0] >= 0 && d[1] <= 1 && d[0] < d[1], `domain ${d} of panel ${i}`);
      }
      return { x: xa.domain as number[], y: ya.domain as number[] };
    });
    for (let a = 0; a < boxes.length; a++) {
      for (let b = a + 1; b < boxes.length; b++) {
        const overlapX = boxes[a].x[0] < boxes[b].x[1] && boxes[b].x[0] < boxes[a].x[1];
        const overlapY = boxes[a].y[0] < boxes[b].y[1] && boxes[b].y[0] < boxes[a].y[1];
        assert.ok(!(overlapX && overlapY), `panels ${a} and ${b} overlap`);
      }
    }
    // Row 0 above row 1; column order left to right.
    assert.ok(boxes[0].y[0] > boxes[3].y[1]);
    assert.ok(boxes[0].x[1] < boxes[1].x[0] && boxes[1].x[1] < boxes[2].x[0]);
    // Every trace points at axes that exist.
    for (const t of data) {
      const k = t.xaxis.slice(1);
      assert.ok(layout[`xaxis${k}`] && layout[`yaxis${k}`], `axes of trace on ${t.xaxis}`);
    }
    assert.equal(data.filter((t) => t.type === 'heatmap').length, 3);
    assert.equal(data.filter((t) => t.type === 'scatter').length, 4);
  });

  it('draws series as scatter traces with their mode, a legend and a log axis when asked', () => {
    const log: Panel = {
      kind: 'lines',
      series: [{ name: 'loss', x: [1, 2, 12345], y: [0.123456, 0, -1] }],
      logY: true,
      yTitle: 'loss',
    };
    const { data, layout } = plotly({ panels: [lines, log] });
    assert.deepEqual(
      data.map((t) => [t.type, t.mode, t.name]),
      [
        ['scatter', 'lines', 'train'],
        ['scatter', 'markers', 'val'],
        ['scatter', 'lines', 'loss'],
      ],
    );
    assert.equal(layout.showlegend, true);
    assert.equal(layout.yaxis2.type, 'log');
    const narrow = plotly({
      panels: [{ kind: 'lines', series: [{ name: 'a', x: [0, 1], y: [0.5, 3] }], logY: true }],
    });
    assert.equal(narrow.layout.yaxis.dtick, 'D2', 'within two decades, only 2 and 5 are labelled');
    const wide = plotly({
      panels: [{ kind: 'lines', series: [{ name: 'a', x: [0, 1], y: [0.001, 3] }], logY: true }],
    });
    assert.equal(wide.layout.yaxis.dtick, undefined, 'across many decades, powers of ten');
    assert.equal(layout.yaxis.type, undefined);
    // Integers (steps) stay exact; values <= 0 cannot sit on a log axis.
    assert.deepEqual(data[2].x, [1, 2, 12345]);
    assert.deepEqual(data[2].y, [0.1235, null, null]);
  });

  it('shows an image from a PNG and an overlay heatmap with opacity on the same axes', () => {
    const pixels = matrix(4, 4, (i, j) => (i * 4 + j) / 15);
    const z = [
      [1, 1, 2, 2],
      [1, 1, 2, 2],
      [3, 3, 4, 4],
      [3, 3, 4, 4],
    ];
    const { data, layout } = plotly({
      panels: [{ kind: 'image', pixels, overlay: { z, opacity: 0.3 } }],
    });
    assert.deepEqual(
      data.map((t) => t.type),
      ['image', 'heatmap'],
    );
    const png = decodePngUri(data[0].source);
    // Each pixel is a 32 x 32 block (4 x 32 = 128 px wide), so no viewer can blur it.
    assert.equal(png.width, 4 * 32);
    assert.deepEqual(pixelAt(png, 3 * 32, 3 * 32), [255, 255, 255, 255]);
    assert.deepEqual(pixelAt(png, 3 * 32 + 31, 3 * 32 + 31), [255, 255, 255, 255]);
    assert.deepEqual(pixelAt(png, 0, 0), [0, 0, 0, 255]);
    assert.equal(data[1].opacity, 0.3);
    // Repeated blocks collapse to the 2 x 2 grid, with brick edges in pixel coordinates.
    assert.deepEqual(data[1].z, [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(data[1].x, [-0.5, 1.5, 3.5]);
    assert.deepEqual(data[1].y, [-0.5, 1.5, 3.5]);
    assert.equal(data[1].xaxis, data[0].xaxis);
    assert.deepEqual(layout.yaxis.range, [3.5, -0.5], 'image rows top to bottom');
  });

  it('spreads the upscaled PNG over exactly the image extent the axes show', () => {
    // A 4 x 6 image becomes a PNG of 32 x 32 blocks (floor(256 / 6) = 42, capped at 32):
    // 192 x 128 PNG pixels, each 1/32 of an image pixel.
    const { data, layout } = plotly({ panels: [{ kind: 'image', pixels: matrix(4, 6, () => 1) }] });
    const png = decodePngUri(data[0].source);
    assert.deepEqual([png.width, png.height], [6 * 32, 4 * 32]);
    const { x0, y0, dx, dy } = data[0];
    // plotly puts PNG pixel i's centre at x0 + i dx: the left edge is x0 - dx / 2.
    const left = x0 - dx / 2;
    const right = x0 + (png.width - 0.5) * dx;
    const top = y0 - dy / 2;
    const bottom = y0 + (png.height - 0.5) * dy;
    const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-3;
    assert.ok(near(left, -0.5) && near(right, 5.5), `x extent ${left}..${right}`);
    assert.ok(near(top, -0.5) && near(bottom, 3.5), `y extent ${top}..${bottom}`);
    assert.deepEqual(layout.xaxis.range, [-0.5, 5.5]);
    assert.deepEqual(layout.yaxis.range, [3.5, -0.5]);
  });

  it('fits its default width in a 690 px text column and draws a shared scale once', () => {
    const z = matrix(3, 3, (i, j) => (i + j) / 4);
    const { data, layout } = plotly({
      panels: [
        heat(z, { zmin: 0, zmax: 1 }),
        heat(z, { zmin: 0, zmax: 1 }),
        heat(z, { zmin: 0, zmax: 1 }),
      ],
    });
    assert.ok(layout.width <= 690, `width ${layout.width}`);
    assert.deepEqual(
      data.map((t) => t.coloraxis),
      ['coloraxis', 'coloraxis', 'coloraxis'],
    );
    assert.equal(data.filter((t) => t.colorbar).length, 0, 'no per-panel colour bar');
    assert.deepEqual([layout.coloraxis.cmin, layout.coloraxis.cmax], [0, 1]);
    // different ranges: one colour bar each, and no shared axis
    const own = plotly({ panels: [heat(z), heat(z, { zmax: 5 })] });
    assert.equal(own.data.filter((t) => t.colorbar).length, 2);
    assert.equal(own.layout.coloraxis, undefined);
  });

  it('leaves room between columns for the colour bar and the next y labels', () => {
    const z = matrix(2, 2, () => 0.5);
    const labels = ['horizontal', 'brightness'];
    const { layout } = plotly({
      width: 600,
      panels: [heat(z, { yLabels: labels, yTitle: 'rows' }), heat(z, { yLabels: labels, zmax: 3 })],
    });
    const plotWidth = 600 - layout.margin.l - layout.margin.r;
    // gap = colour bar (about 50 px) + the second panel's labels (10 characters, about 62 px)
    const gapPx = (layout.xaxis2.domain[0] - layout.xaxis.domain[1]) * plotWidth;
    assert.ok(gapPx >= 50 + 62, `gap ${gapPx} px`);
    // the first panel's labels and title fit left of its plot
    assert.ok(layout.xaxis.domain[0] * plotWidth >= 62 + 18, `left room ${layout.xaxis.domain[0]}`);
  });

  it('lists a series repeated across panels once in the legend, in one colour', () => {
    const { data } = plotly({ panels: [lines, lines, lines], columns: 3 });
    const listed = data.filter((t) => t.showlegend).map((t) => t.name);
    assert.deepEqual(listed, ['train', 'val']);
    const colours = new Set(data.filter((t) => t.name === 'val').map((t) => t.line.color));
    assert.equal(colours.size, 1);
  });

  it('stretches a smaller overlay over the whole image', () => {
    const { data } = plotly({
      panels: [{ kind: 'image', pixels: matrix(6, 4, () => 0.5), overlay: { z: [[1, 2]] } }],
    });
    assert.deepEqual(data[1].x, [-0.5, 1.5, 3.5]);
    assert.deepEqual(data[1].y, [-0.5, 5.5]);
  });

  it('needs no network: no script, MathJax, fonts or map tiles', () => {
    const json = JSON.stringify(toPlotly({ title: 'x', panels: [heat([[1]]), lines] }));
    assert.doesNotMatch(json, /https?:|mapbox|mathjax|<script/i);
  });
});

describe('toSvg', () => {
  it('is a standalone SVG with a viewBox and no script', () => {
    const svg = toSvg({ title: 'demo', panels: [heat([[1, 2]]), lines] });
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
    assert.ok(svg.endsWith('</svg>'));
    assert.equal(count(svg, '<script'), 0);
    assert.doesNotMatch(svg, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('draws each heatmap as one PNG image with one square block per cell', () => {
    const z = [
      [0, 0.5, 1],
      [NaN, 0.25, 0.75],
    ];
    const svg = toSvg({ panels: [heat(z, { zmin: 0, zmax: 1 }), lines, heat(z)] });
    assert.equal(count(svg, '<image '), 2);
    assert.equal(count(svg, 'image-rendering:pixelated'), 2);
    const png = decodePngUri(imageHrefs(svg)[0]);
    const k = 32; // block size: floor(256 / 3) capped at 32
    assert.equal(png.width, 3 * k);
    assert.equal(png.height, 2 * k);
    assert.deepEqual(pixelAt(png, 0, 0), [0x44, 0x01, 0x54, 255]);
    assert.deepEqual(pixelAt(png, 2 * k, 0), [0xfd, 0xe7, 0x25, 255]);
    assert.deepEqual(pixelAt(png, 2 * k - 1, 0), [...viridis(0.5), 255], 'block edges are sharp');
    assert.deepEqual(pixelAt(png, k, k), [...viridis(0.25), 255]);
    assert.deepEqual(pixelAt(png, 0, k), [200, 200, 200, 255], 'NaN is a grey cell');
  });

  it('escapes labels and titles', () => {
    const svg = toSvg({
      title: 'a "quoted" & <b>title</b>',
      panels: [heat([[1, 2]], { xLabels: ['<pad>', 'R&D'], yLabels: ['<bos>'] })],
    });
    assert.ok(svg.includes('&lt;pad&gt;'));
    assert.ok(svg.includes('R&amp;D'));
    assert.ok(svg.includes('&lt;bos&gt;'));
    assert.ok(svg.includes('a &quot;quoted&quot; &amp; &lt;b&gt;title&lt;/b&gt;'));
    assert.equal(count(svg, '<pad>'), 0);
    assert.equal(count(svg, '<b>'), 0);
  });

  it('thins tick labels when there are many columns and rows', () => {
    const labels = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const svg = toSvg({
      panels: [
        heat(
          matrix(200, 200, (i, j) => i - j),
          { xLabels: labels, yLabels: labels },
        ),
      ],
    });
    const shown = count(svg, />k\d+</);
    assert.ok(shown > 10 && shown < 100, `${shown} labels shown`);
    assert.ok(svg.includes('>k0<'), 'the first label is kept');
  });

  it('draws lines as polylines, markers as circles, with a legend whose glyphs match', () => {
    const svg = toSvg({ panels: [lines] });
    assert.equal(count(svg, '<polyline'), 1);
    // three markers of 'val', plus one dot in the legend for it ('train' gets a line glyph)
    assert.equal(count(svg, '<circle'), 3 + 1);
    assert.ok(svg.includes('>train<') && svg.includes('>val<'));
  });

  it('breaks a line at missing values', () => {
    const svg = toSvg({
      panels: [
        { kind: 'lines', series: [{ name: 'loss', x: [0, 1, 2, 3, 4], y: [1, 2, NaN, 3, 4] }] },
      ],
    });
    assert.equal(count(svg, '<polyline'), 2);
  });

  it('keeps a long curve small', () => {
    const y = Array.from({ length: 20000 }, (_, i) => Math.exp(-i / 3000) + 0.01 * Math.sin(i));
    const svg = toSvg({
      panels: [{ kind: 'lines', series: [{ name: 'loss', x: y.map((_, i) => i), y }] }],
    });
    assert.ok(svg.length < 40000, `${svg.length} characters`);
  });

  it('draws an image with its overlay as two images and a colour bar', () => {
    const svg = toSvg({
      panels: [
        { kind: 'image', pixels: matrix(4, 4, () => 0.5), overlay: { z: [[0, 1]], opacity: 0.4 } },
      ],
    });
    const hrefs = imageHrefs(svg);
    assert.equal(hrefs.length, 2);
    assert.deepEqual(pixelAt(decodePngUri(hrefs[0]), 0, 0), [128, 128, 128, 255]);
    const overlay = decodePngUri(hrefs[1]);
    assert.deepEqual([overlay.width, overlay.height], [2 * 32, 1 * 32]);
    assert.match(svg, /opacity="0\.4"/);
  });
});

describe('toSvg panel titles', () => {
  it('shortens a title wider than its cell instead of running into the next panel', () => {
    // 3 columns of 200 px: at 6.6 px per bold character, 29 characters fit in 200 - 8 px.
    const long = 'softmax Jacobian norm (gradient size)'; // 37 characters
    const svg = toSvg({
      width: 600,
      columns: 3,
      panels: [{ ...lines, title: long }, lines, lines],
    });
    assert.ok(!svg.includes(long), 'the whole title does not fit');
    assert.match(svg, />softmax Jacobian norm \(gradi…<\/text>/);
    const short = toSvg({
      width: 600,
      columns: 3,
      panels: [{ ...lines, title: 'loss' }, lines, lines],
    });
    assert.match(short, />loss<\/text>/);
  });
});

describe('toSvg axis ticks', () => {
  it('labels a narrow line chart with at least two x ticks', () => {
    // a 680 px figure of 3 columns: each plot is about 160 px wide; x spans 2..512.
    // Three ticks asked for: a step of 200 (170 rounded up to 1, 2, 5 x 10^k): 200 and 400.
    const d: Panel = { kind: 'lines', series: [{ name: 'v', x: [2, 512], y: [0, 1] }] };
    const svg = toSvg({ width: 680, columns: 3, panels: [d, d, d] });
    assert.match(svg, /text-anchor="middle">200<\/text>/);
    assert.match(svg, /text-anchor="middle">400<\/text>/);
  });
});

describe('toSvg colour bars', () => {
  /** Right end of every text element, estimating 5.6 px per character at font size 9. */
  const textEnds = (svg: string): { text: string; end: number }[] =>
    [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" font-size="9">([^<]*)<\/text>/g)].map((m) => ({
      text: m[2],
      end: Number(m[1]) + m[2].length * 5.6,
    }));

  it('keeps long colour-bar labels inside the figure, for heatmaps and image overlays', () => {
    const z = [
      [-1.23456, 0.0123457],
      [0.5, -0.25],
    ];
    const heatSvg = toSvg({ width: 300, panels: [heat(z)] });
    const overlaySvg = toSvg({
      width: 300,
      panels: [{ kind: 'image', pixels: matrix(2, 2, () => 0.5), overlay: { z } }],
    });
    for (const svg of [heatSvg, overlaySvg]) {
      const labels = textEnds(svg);
      assert.deepEqual(
        labels.map((l) => l.text),
        ['0.5', '-0.3673', '-1.235'], // max, (max + min) / 2, min to 4 digits
      );
      for (const l of labels) assert.ok(l.end <= 300, `"${l.text}" ends at ${l.end} px of 300`);
    }
  });
});

describe('figureBundle', () => {
  it('holds plotly JSON, the SVG in a div and a one-line description', () => {
    const fig: Figure = { title: 'attention weights', panels: [heat(matrix(5, 7, () => 0.1))] };
    const bundle = figureBundle(fig);
    assert.deepEqual(Object.keys(bundle).sort(), [
      'application/vnd.plotly.v1+json',
      'text/html',
      'text/plain',
    ]);
    assert.deepEqual(bundle['application/vnd.plotly.v1+json'], toPlotly(fig));
    assert.equal(bundle['text/html'], `<div class="ah-figure">${toSvg(fig)}</div>`);
    assert.equal(bundle['text/plain'], 'Figure: attention weights (heatmap 5x7)');
  });

  it('describes several panels and missing cells', () => {
    const z = matrix(2, 3, () => 0);
    z[1][2] = NaN;
    const bundle = figureBundle({ panels: [heat(z), heat(z), lines] });
    assert.equal(bundle['text/plain'], 'Figure (2 x heatmap 2x3, 1 non-finite; lines: train, val)');
  });

  it('keeps a 40 x 40 heatmap well under 40 KB', () => {
    // Pseudo-random values: the worst case for compression.
    let s = 1;
    const z = matrix(40, 40, () => (s = (s * 16807) % 2147483647) / 2147483647);
    const labels = Array.from({ length: 40 }, (_, i) => `tok${i}`);
    const bundle = figureBundle({
      title: 'big',
      panels: [heat(z, { xLabels: labels, yLabels: labels, zmin: 0, zmax: 1 })],
    });
    const size = Buffer.byteLength(JSON.stringify(bundle));
    assert.ok(size < 40000, `${size} bytes`);
  });

  it('is what showFigure displays', () => {
    const shown: { bundle: MimeBundle; update: boolean }[] = [];
    setDisplaySink((bundle, o) => shown.push({ bundle, update: o.update }));
    try {
      const fig: Figure = { panels: [lines] };
      showFigure(fig);
      assert.equal(shown.length, 1);
      assert.equal(shown[0].update, false);
      assert.deepEqual(shown[0].bundle, figureBundle(fig));
    } finally {
      setDisplaySink(null);
    }
  });
});

describe('composeFigure and showFigure with several figures', () => {
  const one = (title: string): Figure => ({ panels: [heat([[1, 0]])], title });
  it('flattens figures into one grid, a one-panel figure lending its title to its panel', () => {
    const fig = composeFigure({
      title: 'both',
      panels: [one('a'), heat([[0]]), one('b')],
      columns: 3,
    });
    assert.equal(fig.panels.length, 3);
    assert.deepEqual(
      fig.panels.map((p) => p.title),
      ['a', undefined, 'b'],
    );
    assert.equal(fig.title, 'both');
    assert.equal(fig.columns, 3);
  });

  it('shows several figures side by side in one output', () => {
    const shown: MimeBundle[] = [];
    setDisplaySink((bundle) => shown.push(bundle));
    try {
      showFigure(one('a'), { panels: [lines] });
      assert.equal(shown.length, 1);
      assert.equal(shown[0]['text/plain'], 'Figure (heatmap 1x2; lines: train, val)');
    } finally {
      setDisplaySink(null);
    }
  });

  it('rejects a figure of figures of figures and a missing panel', () => {
    const nested = { panels: [{ panels: [one('a')] }] } as unknown as Figure;
    assert.throws(() => composeFigure(nested), /layout.panels\[0\]: expected panels or figures/);
    assert.throws(
      () => composeFigure({ panels: [undefined as unknown as Panel] }),
      /layout.panels\[0\]: expected a panel or a figure, got undefined/,
    );
  });
});

describe('figure validation', () => {
  const errors: [string, unknown, RegExp][] = [
    ['no panels', { panels: [] }, /figure: expected at least one panel, got an array of length 0/],
    ['a missing panel list', {}, /figure: expected at least one panel, got undefined/],
    [
      'an unknown kind',
      { panels: [{ kind: 'pie' }] },
      /panel 0: expected kind 'heatmap', 'lines' or 'image', got string "pie"/,
    ],
    [
      'a ragged matrix',
      {
        panels: [
          lines,
          heat([
            [1, 2, 3],
            [4, 5],
          ]),
        ],
      },
      /panel 1 \(heatmap\): expected z to be rectangular: row 1 has 2 values, expected 3/,
    ],
    [
      'a string in z',
      { panels: [heat([[1, 'a' as unknown as number]])] },
      /panel 0 \(heatmap\): expected z\[0\]\[1\] to be a number, got string "a"/,
    ],
    [
      'an empty matrix',
      { panels: [heat([])] },
      /panel 0 \(heatmap\): expected z to be a non-empty/,
    ],
    [
      'too few column labels',
      { panels: [heat([[1, 2, 3]], { xLabels: ['a', 'b'] })] },
      /panel 0 \(heatmap\): expected 3 xLabels \(one per column\), got 2/,
    ],
    [
      'too many row labels',
      { panels: [heat([[1]], { yLabels: ['a', 'b'] })] },
      /panel 0 \(heatmap\): expected 1 yLabels \(one per row\), got 2/,
    ],
    [
      'zmin above zmax',
      { panels: [heat([[1]], { zmin: 1, zmax: 0 })] },
      /expected zmin < zmax, got zmin 1 and zmax 0/,
    ],
    [
      'an unknown colour map',
      { panels: [heat([[1]], { colormap: 'jet' as 'viridis' })] },
      /panel 0 \(heatmap\): colormap: expected one of 'viridis', 'redBlue', got "jet"/,
    ],
    [
      'series of unequal length',
      { panels: [{ kind: 'lines', series: [{ name: 'loss', x: [0, 1, 2], y: [1, 2] }] }] },
      /panel 0 \(lines\): expected series "loss" x and y of equal length, got 3 x and 2 y/,
    ],
    [
      'no series',
      { panels: [{ kind: 'lines', series: [] }] },
      /panel 0 \(lines\): expected at least one series/,
    ],
    [
      'a non-finite pixel',
      { panels: [{ kind: 'image', pixels: [[0, NaN]] }] },
      /panel 0 \(image\): expected pixels\[0\]\[1\] to be a finite number, got number NaN/,
    ],
    [
      'a pixel that is not a triple',
      {
        panels: [
          {
            kind: 'image',
            pixels: [
              [
                [0, 0, 0],
                [1, 1],
              ],
            ],
          },
        ],
      },
      /panel 0 \(image\): expected pixels\[0\]\[1\] to be an \[r, g, b\] triple, got an array of length 2/,
    ],
    [
      'an opacity above 1',
      { panels: [{ kind: 'image', pixels: [[0]], overlay: { z: [[1]], opacity: 2 } }] },
      /panel 0 \(image\): expected overlay\.opacity in \[0, 1\], got number 2/,
    ],
    [
      'zero columns',
      { panels: [lines], columns: 0 },
      /figure: expected columns to be a positive integer, got number 0/,
    ],
  ];
  for (const [what, fig, message] of errors) {
    it(`rejects ${what} in every renderer`, () => {
      assert.throws(() => checkFigure(fig as Figure), message);
      assert.throws(() => toPlotly(fig as Figure), message);
      assert.throws(() => toSvg(fig as Figure), message);
      assert.throws(() => figureBundle(fig as Figure), message);
    });
  }
});

describe('toSvg legend placement', () => {
  const legendAt = (ys: (x: number) => number): { x: number; y: number } => {
    const x = Array.from({ length: 21 }, (_, i) => i / 2);
    const svg = toSvg({
      width: 400,
      height: 300,
      panels: [
        {
          kind: 'lines',
          series: [
            { name: 'a', x, y: x.map(ys) },
            { name: 'b', x, y: x.map((v) => ys(v) + 0.1) },
          ],
        },
      ],
    });
    const m = /<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="\d+" fill="#fff"/.exec(svg);
    assert.ok(m, 'no legend box');
    return { x: Number(m[1]), y: Number(m[2]) };
  };

  it('stays top right when the curves leave that corner free', () => {
    const at = legendAt((v) => -v); // from top left to bottom right
    assert.ok(at.x > 200 && at.y < 150, JSON.stringify(at));
  });

  it('moves to a free corner when the curves run through the top right', () => {
    const at = legendAt((v) => v); // from bottom left to top right
    assert.ok(at.x < 200 && at.y < 150, `expected top left, got ${JSON.stringify(at)}`);
  });
});
