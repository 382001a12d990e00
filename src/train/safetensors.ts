/**
 * The safetensors file format, as pure bytes (no file system, no TensorFlow.js): the format
 * Hugging Face and most of the ML ecosystem read and write for model weights.
 *
 * Layout (https://github.com/huggingface/safetensors):
 * 1. 8 bytes: `N`, the length of the header, an unsigned 64-bit little-endian integer;
 * 2. `N` bytes: a UTF-8 JSON object `{ name: { dtype, shape, data_offsets: [begin, end] }, ...,
 *    "__metadata__": { key: string value } }`, padded with spaces so the data starts at a multiple
 *    of 8;
 * 3. the data buffer: each tensor's elements, row-major, little-endian, at `[begin, end)` counted
 *    from the start of the buffer.
 *
 * Reading applies the reference implementation's rules: a header of at most 100,000,000 bytes,
 * valid UTF-8 JSON, starting with `{` (a check the reference has written but not yet switched on);
 * offsets that, sorted, tile the buffer exactly (each tensor begins where the previous one ended,
 * nothing overlaps, nothing is left over or missing); each tensor's byte length equals its element
 * count times its dtype's bits / 8, in whole bytes; metadata values are strings. Writing follows
 * the reference writer: tensors sorted by dtype alignment (largest first) then by name,
 * `__metadata__` first in the header, padding with spaces.
 */

/** Element types of the safetensors format (as of safetensors 0.6: with the sub-byte MX types). */
export type SafetensorsDtype =
  | 'BOOL'
  | 'F4'
  | 'F6_E2M3'
  | 'F6_E3M2'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'F8_E8M0'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'C64'
  | 'F64'
  | 'I64'
  | 'U64';

/**
 * Bits per element, in the reference implementation's alignment order (its writer puts later
 * dtypes first, ties broken by name, so every tensor starts aligned).
 */
const DTYPE_BITS: ReadonlyArray<[SafetensorsDtype, number]> = [
  ['BOOL', 8],
  ['F4', 4],
  ['F6_E2M3', 6],
  ['F6_E3M2', 6],
  ['U8', 8],
  ['I8', 8],
  ['F8_E5M2', 8],
  ['F8_E4M3', 8],
  ['F8_E8M0', 8],
  ['I16', 16],
  ['U16', 16],
  ['F16', 16],
  ['BF16', 16],
  ['I32', 32],
  ['U32', 32],
  ['F32', 32],
  ['C64', 64],
  ['F64', 64],
  ['I64', 64],
  ['U64', 64],
];
const DTYPE_BIT_SIZE = new Map(DTYPE_BITS);
const DTYPE_RANK = new Map(DTYPE_BITS.map(([d], i) => [d, i]));

/** The reference implementation's limit on the JSON header (header bombs). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors file: its element type, shape, and raw little-endian bytes. */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  /** Dimensions, row-major; `[]` for a scalar. */
  shape: number[];
  /** The elements as little-endian bytes: `product(shape) * size(dtype)` of them. */
  data: Uint8Array;
}

/** What `decodeSafetensors` returns: the tensors in file (offset) order and the metadata. */
export interface SafetensorsContents {
  tensors: Array<[string, SafetensorsTensor]>;
  metadata: Record<string, string>;
}

/** Bits per element of `dtype`; throws for a dtype the format does not define. */
export function dtypeBits(dtype: string): number {
  const bits = DTYPE_BIT_SIZE.get(dtype as SafetensorsDtype);
  if (bits === undefined) {
    throw new Error(
      `dtype: expected one of ${DTYPE_BITS.map(([d]) => d).join(', ')}, got ${JSON.stringify(dtype)}`,
    );
  }
  return bits;
}

/**
 * Bytes of `count` elements of `dtype`; throws when they do not fill whole bytes (the reference's
 * "misaligned slice", e.g. an odd number of 4-bit values). `what` names the tensor.
 */
function byteLength(dtype: SafetensorsDtype, count: number, what: string): number {
  const bits = count * DTYPE_BIT_SIZE.get(dtype)!;
  if (bits % 8 !== 0) {
    throw new Error(`${what}: ${count} elements of ${dtype} fill ${bits} bits, not whole bytes`);
  }
  return bits / 8;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function checkShapeList(shape: unknown, what: string): number[] {
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  ) {
    throw new Error(
      `${what}: expected a list of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
  const n = elementCount(shape as number[]);
  if (!Number.isSafeInteger(n)) throw new Error(`${what}: element count overflows (${n})`);
  return shape as number[];
}

/**
 * Writes tensors and metadata in the safetensors format.
 * @param tensors `[name, {dtype, shape, data}]` pairs; names must be unique, non-empty, and not
 *   `__metadata__`; `data` holds exactly `product(shape) * size(dtype)` little-endian bytes.
 * @param metadata free-form string pairs stored under `__metadata__` (omitted when empty).
 * @returns the whole file as bytes.
 */
export function encodeSafetensors(
  tensors: ReadonlyArray<[string, SafetensorsTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  if (!Array.isArray(tensors)) {
    throw new TypeError(
      `tensors: expected an array of [name, tensor] pairs, got ${typeof tensors}`,
    );
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new TypeError(`metadata: expected an object of strings, got ${JSON.stringify(metadata)}`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new TypeError(`metadata.${key}: expected a string, got ${typeof value}`);
    }
  }
  const seen = new Set<string>();
  for (const entry of tensors) {
    const [name, t] = Array.isArray(entry) ? entry : [undefined, undefined];
    if (typeof name !== 'string' || name === '' || name === '__metadata__') {
      throw new Error(
        `tensors: expected a non-empty name other than __metadata__, got ${JSON.stringify(name)}`,
      );
    }
    if (seen.has(name)) throw new Error(`tensors: the name ${name} appears twice`);
    seen.add(name);
    if (t === undefined || t === null || typeof t !== 'object') {
      throw new TypeError(`tensors.${name}: expected {dtype, shape, data}, got ${String(t)}`);
    }
    dtypeBits(t.dtype);
    const shape = checkShapeList(t.shape, `tensors.${name}.shape`);
    if (!(t.data instanceof Uint8Array)) {
      throw new TypeError(`tensors.${name}.data: expected a Uint8Array of little-endian bytes`);
    }
    const want = byteLength(t.dtype, elementCount(shape), `tensors.${name}`);
    if (t.data.byteLength !== want) {
      throw new Error(
        `tensors.${name}.data: expected ${want} bytes for ${t.dtype} [${shape.join(', ')}], got ${t.data.byteLength}`,
      );
    }
  }

  const ordered = [...tensors].sort(
    ([an, a], [bn, b]) =>
      DTYPE_RANK.get(b.dtype)! - DTYPE_RANK.get(a.dtype)! || (an < bn ? -1 : an > bn ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of ordered) {
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded > SAFETENSORS_MAX_HEADER_BYTES) {
    throw new Error(
      `header: ${padded} bytes, more than the format's ${SAFETENSORS_MAX_HEADER_BYTES}`,
    );
  }
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + padded);
  let at = 8 + padded;
  for (const [, t] of ordered) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Reads a safetensors file, validating it as the reference implementation does. Each tensor's
 * `data` is a fresh copy (aligned, independent of `bytes`).
 * @param bytes the whole file.
 * @returns the tensors, in the order of their offsets, and the `__metadata__` strings (`{}` if none).
 * @throws an error saying what is wrong (too short, header too large, bad JSON, bad offsets, ...).
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`bytes: expected a Uint8Array, got ${typeof bytes}`);
  }
  if (bytes.byteLength < 8) {
    throw new Error(`too short: ${bytes.byteLength} bytes, less than the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    throw new Error(
      `header length ${n64} exceeds the format's limit of ${SAFETENSORS_MAX_HEADER_BYTES} bytes (not a safetensors file?)`,
    );
  }
  const n = Number(n64);
  if (8 + n > bytes.byteLength) {
    throw new Error(
      `truncated: the header says ${n} header bytes, but only ${bytes.byteLength - 8} follow the length`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new Error('header: not valid UTF-8');
  }
  if (!text.startsWith('{'))
    throw new Error('header: does not start with "{" (not a safetensors file?)');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`header: not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new Error('header: expected a JSON object');
  }

  let metadata: Record<string, string> = {};
  const infos: Array<{
    name: string;
    dtype: SafetensorsDtype;
    shape: number[];
    begin: number;
    end: number;
  }> = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new Error('header.__metadata__: expected an object of strings');
      }
      for (const [key, value] of Object.entries(raw)) {
        if (typeof value !== 'string') {
          throw new Error(
            `header.__metadata__.${key}: expected a string, got ${JSON.stringify(value)}`,
          );
        }
      }
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    if (raw === null || typeof raw !== 'object') {
      throw new Error(
        `header.${name}: expected {dtype, shape, data_offsets}, got ${JSON.stringify(raw)}`,
      );
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info.dtype !== 'string' || !DTYPE_BIT_SIZE.has(info.dtype as SafetensorsDtype)) {
      throw new Error(
        `header.${name}.dtype: expected a safetensors dtype, got ${JSON.stringify(info.dtype)}`,
      );
    }
    const shape = checkShapeList(info.shape, `header.${name}.shape`);
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      throw new Error(
        `header.${name}.data_offsets: expected [begin, end], got ${JSON.stringify(offsets)}`,
      );
    }
    infos.push({
      name,
      dtype: info.dtype as SafetensorsDtype,
      shape,
      begin: offsets[0],
      end: offsets[1],
    });
  }

  // Sorted by offsets, the tensors must tile the data buffer exactly.
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  let expectedBegin = 0;
  const tensors: Array<[string, SafetensorsTensor]> = [];
  for (const info of infos) {
    if (info.begin !== expectedBegin || info.end < info.begin) {
      throw new Error(
        `header.${info.name}.data_offsets: [${info.begin}, ${info.end}] should begin at ${expectedBegin} (offsets must be contiguous, without gaps or overlaps)`,
      );
    }
    const want = byteLength(info.dtype, elementCount(info.shape), `header.${info.name}`);
    if (info.end - info.begin !== want) {
      throw new Error(
        `header.${info.name}: ${info.dtype} [${info.shape.join(', ')}] needs ${want} bytes, data_offsets give ${info.end - info.begin}`,
      );
    }
    if (info.end > dataLength) {
      throw new Error(
        `truncated: ${info.name} ends at byte ${info.end} of the data buffer, which has only ${dataLength} bytes`,
      );
    }
    expectedBegin = info.end;
    tensors.push([
      info.name,
      {
        dtype: info.dtype,
        shape: info.shape,
        // A copy (not a view: a Node Buffer's slice would share memory with the file's bytes).
        data: new Uint8Array(bytes.subarray(dataStart + info.begin, dataStart + info.end)),
      },
    ]);
  }
  if (expectedBegin !== dataLength) {
    throw new Error(
      `the data buffer has ${dataLength} bytes but the tensors cover ${expectedBegin} (extra or missing bytes)`,
    );
  }
  return { tensors, metadata };
}

/** Typed arrays that `tensorBytes` and `tensorValues` convert. */
export type SafetensorsValues = Float32Array | Float64Array | Int32Array | Uint8Array;

/**
 * The little-endian bytes of `values` as `dtype` (`F32`, `F64`, `I32`, `U8` or `BOOL`), for
 * `encodeSafetensors`. Written through a `DataView`, so the bytes are right on any platform.
 */
export function tensorBytes(
  values: ArrayLike<number>,
  dtype: 'F32' | 'F64' | 'I32' | 'U8' | 'BOOL',
): Uint8Array {
  const out = new Uint8Array((values.length * dtypeBits(dtype)) / 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (dtype === 'F32') view.setFloat32(i * 4, v, true);
    else if (dtype === 'F64') view.setFloat64(i * 8, v, true);
    else if (dtype === 'I32') view.setInt32(i * 4, v, true);
    else out[i] = dtype === 'BOOL' ? (v ? 1 : 0) : v;
  }
  return out;
}

/**
 * The elements of a decoded tensor as a typed array: `F32` -> Float32Array, `F64` -> Float64Array,
 * `I32` -> Int32Array, `U8`/`BOOL` -> Uint8Array. Other dtypes throw (this library stores only these).
 */
export function tensorValues(tensor: SafetensorsTensor): SafetensorsValues {
  const count = (tensor.data.byteLength * 8) / dtypeBits(tensor.dtype);
  const view = new DataView(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  switch (tensor.dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'U8':
    case 'BOOL':
      return tensor.data.slice();
    default:
      throw new Error(
        `dtype: expected F32, F64, I32, U8 or BOOL to read values, got ${tensor.dtype}`,
      );
  }
}
