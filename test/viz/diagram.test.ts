import * as assert from 'node:assert/strict';
import { setDisplaySink, type MimeBundle } from '../../src/viz/display';
import { diagramSvg, showDiagram, type Diagram } from '../../src/viz/diagram';

const step: Diagram = {
  title: 'a <step>',
  nodes: [
    { id: 'h', label: 'h_t', col: 0, row: 0 },
    { id: 'score', label: 'score & softmax', col: 1, row: 0, kind: 'op' },
    { id: 'c', label: 'c_t', col: 1, row: 1 },
  ],
  edges: [
    { from: 'h', to: 'score', label: 'query', colour: 3 },
    { from: 'score', to: 'c', dashed: true },
  ],
};

function count(haystack: string, needle: RegExp): number {
  return (haystack.match(needle) ?? []).length;
}

describe('diagramSvg / showDiagram', () => {
  it('draws one box per node and one arrow per edge, text escaped', () => {
    const svg = diagramSvg(step);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(count(svg, /class="ah-node"/g), 3);
    assert.equal(count(svg, /class="ah-edge"/g), 2);
    assert.ok(svg.includes('a &lt;step&gt;'), 'title escaped');
    assert.ok(svg.includes('score &amp; softmax'), 'label escaped');
    assert.equal(count(svg, /stroke-dasharray/g), 1);
    // the coloured edge uses the red marker (palette index 3), the other the grey one
    assert.ok(svg.includes('marker-end="url(#ah-arrow-3)"'));
    assert.ok(svg.includes('marker-end="url(#ah-arrow-grey)"'));
    assert.ok(!/<script|https?:\/\/(?!www\.w3\.org)/.test(svg), 'no script, no external resource');
  });

  it('ends an arrow on the border of its target box, not at its centre', () => {
    const svg = diagramSvg({
      nodes: [
        { id: 'a', label: 'aaaa', col: 0, row: 0 },
        { id: 'b', label: 'bbbb', col: 0, row: 2 },
      ],
      edges: [{ from: 'a', to: 'b' }],
    });
    // centres: y = 30 + 20 + row * 70 + 13 -> 63 and 203; box height 26, so the vertical arrow
    // runs from y = 63 + 13 = 76 to 203 - 13 = 190 (by hand)
    const m = svg.match(/class="ah-edge" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"/);
    assert.ok(m);
    assert.deepEqual(m!.slice(1).map(Number), [95, 76, 95, 190]);
  });

  it('puts several diagrams side by side, the width the sum of theirs', () => {
    const one = Number(diagramSvg(step).match(/width="(\d+)"/)![1]);
    const two = Number(diagramSvg([step, step]).match(/width="(\d+)"/)![1]);
    assert.equal(two, 2 * one);
  });

  it('names the argument when a diagram is malformed', () => {
    assert.throws(
      () => diagramSvg({ ...step, edges: [{ from: 'h', to: 'nope' }] }),
      /diagrams\[0\]\.edges\[0\]\.to: expected the id of a node of diagrams\[0\], got 'nope'/,
    );
    assert.throws(
      () => diagramSvg({ nodes: [{ id: 'x', label: 'x', col: -1, row: 0 }], edges: [] }),
      /diagrams\[0\]\.nodes\[0\]\.col: expected a finite number >= 0, got -1/,
    );
    assert.throws(() => diagramSvg([]), /diagrams: expected at least one diagram/);
    assert.throws(
      () => diagramSvg({ nodes: [], edges: [] }),
      /diagrams\[0\]\.nodes: expected a non-empty array/,
    );
  });

  it('shows the SVG as HTML with a plain-text description', () => {
    const shown: MimeBundle[] = [];
    setDisplaySink((bundle) => shown.push(bundle));
    try {
      showDiagram(step, { ...step, title: 'other' });
    } finally {
      setDisplaySink(null);
    }
    assert.equal(shown.length, 1);
    assert.equal(shown[0]['text/plain'], 'Diagram: a <step> | other');
    assert.ok(String(shown[0]['text/html']).includes('<svg'));
  });
});
