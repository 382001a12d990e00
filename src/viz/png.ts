/**
 * A minimal PNG encoder (8-bit RGBA, no interlacing). The static SVG figures embed heatmaps and
 * images as one PNG each, one pixel per cell: far smaller than one <rect> per cell, and it needs
 * nothing beyond Node's zlib.
 */
import * as zlib from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  // The CRC covers the chunk type and data, not the length.
  crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(head.subarray(4))) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function checkDim(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(
      `encodePng: expected ${name} to be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Encodes `width` x `height` pixels of 8-bit RGBA (row-major, 4 bytes per pixel, top row first)
 * as a PNG file.
 */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  checkDim(width, 'width');
  checkDim(height, 'height');
  if (!(rgba instanceof Uint8Array)) {
    throw new TypeError(`encodePng: expected rgba to be a Uint8Array, got ${typeof rgba}`);
  }
  const expected = width * height * 4;
  if (rgba.length !== expected) {
    throw new RangeError(
      `encodePng: expected ${expected} bytes of RGBA (${width} x ${height} x 4), got ${rgba.length}`,
    );
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  // Bytes 10-12 (compression, filter method, interlace) stay 0.
  const rowBytes = width * 4;
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    // Each row starts with its filter type; 0 (none) keeps the encoder trivial, and deflate
    // still compresses the flat colour runs of a heatmap well.
    raw[y * (rowBytes + 1)] = 0;
    raw.set(rgba.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
  }
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** `encodePng` as a `data:image/png;base64,...` URI, ready for an <img> or SVG <image>. */
export function pngDataUri(width: number, height: number, rgba: Uint8Array): string {
  return `data:image/png;base64,${encodePng(width, height, rgba).toString('base64')}`;
}
