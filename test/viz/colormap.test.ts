import * as assert from 'node:assert/strict';
import {
  colorAt,
  colorscaleFor,
  redBlue,
  viridis,
  type ColormapName,
} from '../../src/viz/colormap';

function luminance([r, g, b]: number[]): number {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('viridis', () => {
  it('starts at #440154 and ends at #fde725', () => {
    assert.deepEqual(viridis(0), [0x44, 0x01, 0x54]);
    assert.deepEqual(viridis(1), [0xfd, 0xe7, 0x25]);
  });

  it('clamps t to [0, 1] and maps NaN to the start', () => {
    assert.deepEqual(viridis(-3), [0x44, 0x01, 0x54]);
    assert.deepEqual(viridis(7), [0xfd, 0xe7, 0x25]);
    assert.deepEqual(viridis(NaN), [0x44, 0x01, 0x54]);
  });

  it('gets brighter all the way from 0 to 1 (readable in grey scale)', () => {
    let previous = -1;
    for (let k = 0; k <= 100; k++) {
      const l = luminance(viridis(k / 100));
      assert.ok(l > previous, `luminance at t = ${k / 100} is ${l}, not above ${previous}`);
      previous = l;
    }
  });

  it('interpolates linearly between anchors', () => {
    // Half way between the first two anchors (t = 0 and t = 1/8).
    const a = viridis(0);
    const b = viridis(1 / 8);
    const mid = viridis(1 / 16);
    mid.forEach((c, i) => assert.ok(Math.abs(c - (a[i] + b[i]) / 2) <= 0.5, `channel ${i}`));
  });

  it('returns integer channels in 0..255', () => {
    for (const name of ['viridis', 'redBlue'] as ColormapName[]) {
      for (let k = 0; k <= 20; k++) {
        for (const c of colorAt(name, k / 20)) {
          assert.ok(Number.isInteger(c) && c >= 0 && c <= 255, `${name}(${k / 20}) channel ${c}`);
        }
      }
    }
  });
});

describe('redBlue', () => {
  it('runs from blue through near white to red', () => {
    const [r0, , b0] = redBlue(0);
    const [r1, , b1] = redBlue(1);
    assert.ok(b0 > r0 + 100, 'blue at 0');
    assert.ok(r1 > b1 + 100, 'red at 1');
    for (const c of redBlue(0.5)) assert.ok(c > 230, 'near white in the middle');
  });

  it('is symmetric in lightness around the middle', () => {
    for (const t of [0.1, 0.25, 0.4]) {
      const diff = Math.abs(luminance(redBlue(t)) - luminance(redBlue(1 - t)));
      assert.ok(diff < 40, `t = ${t}: luminance differs by ${diff}`);
    }
  });
});

describe('colorscaleFor', () => {
  for (const name of ['viridis', 'redBlue'] as ColormapName[]) {
    it(`gives ${name} as a plotly colorscale from 0 to 1 that agrees with the SVG colours`, () => {
      const scale = colorscaleFor(name);
      assert.equal(scale[0][0], 0);
      assert.equal(scale[scale.length - 1][0], 1);
      scale.forEach(([t, css], i) => {
        if (i > 0) assert.ok(t > scale[i - 1][0], 'positions increase');
        const m = /^rgb\((\d+),(\d+),(\d+)\)$/.exec(css);
        assert.ok(m, `css colour ${css}`);
        assert.deepEqual(m.slice(1).map(Number), colorAt(name, t));
      });
    });
  }

  it('starts viridis at rgb(68,1,84)', () => {
    assert.deepEqual(colorscaleFor('viridis')[0], [0, 'rgb(68,1,84)']);
  });

  it('rejects an unknown name', () => {
    assert.throws(
      () => colorscaleFor('jet' as ColormapName),
      /colormap: expected one of 'viridis', 'redBlue', got "jet"/,
    );
  });
});
