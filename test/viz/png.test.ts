import * as assert from 'node:assert/strict';
import { encodePng, pngDataUri } from '../../src/viz/png';
import { decodePng, decodePngUri } from './decode-png';

/** A w x h image whose bytes are all different, so any misplaced byte shows. */
function pattern(w: number, h: number): Uint8Array {
  return Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 37 + 11) % 256);
}

describe('encodePng', () => {
  it('writes IHDR, IDAT and IEND with valid CRCs and the exact pixels', () => {
    const rgba = pattern(3, 2);
    const png = decodePng(encodePng(3, 2, rgba));
    assert.equal(png.chunks[0], 'IHDR');
    assert.equal(png.chunks[png.chunks.length - 1], 'IEND');
    assert.ok(png.chunks.includes('IDAT'));
    assert.equal(png.width, 3);
    assert.equal(png.height, 2);
    assert.deepEqual([...png.rgba], [...rgba]);
  });

  it('encodes a single pixel and a wide image', () => {
    assert.deepEqual([...decodePng(encodePng(1, 1, Uint8Array.of(1, 2, 3, 4))).rgba], [1, 2, 3, 4]);
    const wide = pattern(300, 1);
    assert.deepEqual([...decodePng(encodePng(300, 1, wide)).rgba], [...wide]);
  });

  it('compresses flat colour well', () => {
    const flat = new Uint8Array(64 * 64 * 4).fill(200);
    assert.ok(encodePng(64, 64, flat).length < 200);
  });

  it('accepts a Buffer', () => {
    const buf = Buffer.from(pattern(2, 2));
    assert.deepEqual([...decodePng(encodePng(2, 2, buf)).rgba], [...buf]);
  });

  const errors: [string, () => unknown, RegExp][] = [
    [
      'a zero width',
      () => encodePng(0, 2, new Uint8Array(0)),
      /encodePng: expected width to be a positive integer, got 0/,
    ],
    [
      'a fractional height',
      () => encodePng(2, 1.5, new Uint8Array(12)),
      /encodePng: expected height to be a positive integer, got 1\.5/,
    ],
    [
      'a buffer of the wrong length',
      () => encodePng(3, 2, new Uint8Array(20)),
      /encodePng: expected 24 bytes of RGBA \(3 x 2 x 4\), got 20/,
    ],
    [
      'a plain array',
      () => encodePng(1, 1, [1, 2, 3, 4] as unknown as Uint8Array),
      /encodePng: expected rgba to be a Uint8Array, got object/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what}`, () => assert.throws(thunk, message));
  }
});

describe('pngDataUri', () => {
  it('is a base64 data URI of the same PNG', () => {
    const rgba = pattern(2, 3);
    const uri = pngDataUri(2, 3, rgba);
    assert.match(uri, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    assert.deepEqual([...decodePngUri(uri).rgba], [...rgba]);
  });
});
