/**
 * An independent PNG reader for tests: walks the chunks, checks every CRC with zlib.crc32,
 * inflates the IDAT data and undoes filter type 0. Enough for what `encodePng` writes (8-bit
 * RGBA, no interlace); anything else fails loudly.
 */
import * as assert from 'node:assert/strict';
import * as zlib from 'node:zlib';

export interface DecodedPng {
  width: number;
  height: number;
  /** Chunk types in file order. */
  chunks: string[];
  rgba: Uint8Array;
}

/** Decodes a PNG buffer, asserting its structure on the way. */
export function decodePng(png: Buffer): DecodedPng {
  assert.deepEqual(
    [...png.subarray(0, 8)],
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    'PNG signature',
  );
  const chunks: string[] = [];
  const idat: Buffer[] = [];
  let width = 0;
  let height = 0;
  let pos = 8;
  while (pos < png.length) {
    const length = png.readUInt32BE(pos);
    const type = png.toString('ascii', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + length);
    const crc = png.readUInt32BE(pos + 8 + length);
    assert.equal(crc, zlib.crc32(png.subarray(pos + 4, pos + 8 + length)), `CRC of ${type}`);
    chunks.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual([...data.subarray(8)], [8, 6, 0, 0, 0], 'IHDR: 8-bit RGBA, no interlace');
    } else if (type === 'IDAT') {
      idat.push(Buffer.from(data));
    }
    pos += 12 + length;
  }
  assert.equal(pos, png.length, 'chunks end exactly at the end of the file');
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 4 + 1;
  assert.equal(raw.length, stride * height, 'inflated size');
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * stride], 0, `filter type of row ${y}`);
    rgba.set(raw.subarray(y * stride + 1, (y + 1) * stride), y * width * 4);
  }
  return { width, height, chunks, rgba };
}

/** Decodes a `data:image/png;base64,...` URI. */
export function decodePngUri(uri: string): DecodedPng {
  const prefix = 'data:image/png;base64,';
  assert.ok(uri.startsWith(prefix), `expected a PNG data URI, got ${uri.slice(0, 30)}`);
  return decodePng(Buffer.from(uri.slice(prefix.length), 'base64'));
}

/** The [r, g, b, a] of pixel (x, y). */
export function pixelAt(png: DecodedPng, x: number, y: number): number[] {
  const i = (y * png.width + x) * 4;
  return [...png.rgba.subarray(i, i + 4)];
}
