/**
 * What crosses between the grader and a sandboxed submission: plain data only. Tensors travel as
 * `{ shape, dtype, values }` and are rebuilt on the other side; functions do not travel, except
 * functions of the course library named by module and export (`libraryFunction`), which the
 * sandbox loads from its own copy of `src/`.
 *
 * Both sides use this module: the sandbox to encode results, the grader to decode them. Decoding
 * treats its input as hostile (a submission can write anything on its reply channel), so it checks
 * every shape, dtype and length, caps sizes, and never lets a key such as `__proto__` reach a
 * prototype.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Size limits of one encoded value. */
export interface WireLimits {
  /** Total tensor elements and array items. Defaults to 20 million. */
  maxElements: number;
  /** Nesting depth of arrays and objects. Defaults to 32. */
  maxDepth: number;
  /** Characters of one string. Defaults to 100 000. */
  maxString: number;
}

/** The default `WireLimits`: generous for any exercise, small enough to protect the grader. */
export const WIRE_LIMITS: WireLimits = {
  maxElements: 20_000_000,
  maxDepth: 32,
  maxString: 100_000,
};

/** A value that cannot be sent (too big, too deep, a function, a string tensor...). */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

const TENSOR = '__tensor__';
const LIBRARY = '__library__';
const FUNCTION = '__function__';
const DTYPES = ['float32', 'int32', 'bool'] as const;
type WireDtype = (typeof DTYPES)[number];

interface WireTensor {
  shape: number[];
  dtype: WireDtype;
  /** Absent when the tensor had been disposed. */
  values?: Float32Array | Int32Array | Uint8Array;
}

/** Marks a function of the course library that graded tests may pass to an answer. */
const LIBRARY_REF = Symbol('library function');

interface LibraryRef {
  module: string;
  name: string;
}

/**
 * A function of the course library (`src/<module>.ts`, export `name`) that a graded test can pass
 * to an answer, e.g. a reference kernel. In this process it is the real function; sent to a
 * sandbox, it travels by name and the sandbox calls its own copy of the library. Functions
 * written inside a graded test cannot be sent: the answer would run them in its process.
 */
export function libraryFunction<F extends (...args: never[]) => unknown>(
  module: string,
  name: string,
): F {
  if (!/^[a-z0-9-]+(\/[a-z0-9-]+)*$/.test(module)) {
    throw new TypeError(
      `libraryFunction: expected a module under src/ like "attention/softmax", got "${module}"`,
    );
  }
  const exports = require(path.join(__dirname, '..', '..', 'src', module)) as Record<
    string,
    unknown
  >;
  const fn = exports[name];
  if (typeof fn !== 'function') {
    throw new TypeError(`libraryFunction: src/${module} has no exported function "${name}"`);
  }
  const wrapped = ((...args: unknown[]) => fn(...args)) as unknown as F;
  Object.defineProperty(wrapped, LIBRARY_REF, { value: { module, name } satisfies LibraryRef });
  return wrapped;
}

/** An object with these own properties; a key named `__proto__` stays a plain key. */
function plainObject(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const NOT_A_LEAF = Symbol('not a leaf');

/** `x` itself when it is a number, boolean, null, undefined or string within the limits. */
function leaf(x: unknown, depth: number, limits: WireLimits): unknown {
  if (depth > limits.maxDepth) throw new WireError(`nested deeper than ${limits.maxDepth} levels`);
  if (x === null || x === undefined || typeof x === 'number' || typeof x === 'boolean') return x;
  if (typeof x !== 'string') return NOT_A_LEAF;
  if (x.length > limits.maxString) {
    throw new WireError(`a string longer than ${limits.maxString} characters`);
  }
  return x;
}

interface Budget {
  elements: number;
  limits: WireLimits;
}

function spend(budget: Budget, n: number): void {
  budget.elements += n;
  if (budget.elements > budget.limits.maxElements) {
    throw new WireError(`more than ${budget.limits.maxElements} numbers in one value`);
  }
}

function encodeTensor(t: tf.Tensor, budget: Budget): { [TENSOR]: WireTensor } {
  const dtype = t.dtype as string;
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    throw new WireError(`a tensor of dtype ${dtype} cannot be graded (float32, int32 or bool)`);
  }
  const shape = [...t.shape];
  if (t.isDisposed) return { [TENSOR]: { shape, dtype: dtype as WireDtype } };
  spend(budget, t.size);
  const data = t.dataSync();
  const values =
    dtype === 'float32'
      ? Float32Array.from(data as Float32Array)
      : dtype === 'int32'
        ? Int32Array.from(data as Int32Array)
        : Uint8Array.from(data as Uint8Array);
  return { [TENSOR]: { shape, dtype: dtype as WireDtype, values } };
}

/**
 * Turns a value into plain data for the other side: tensors as `{ shape, dtype, values }`,
 * arrays and plain objects recursively, numbers (NaN included), strings, booleans, null and
 * undefined as they are. A function becomes a marker (a library function keeps its name);
 * anything else (a Map, a class instance) travels as its own enumerable properties.
 */
export function encode(
  value: unknown,
  limits: WireLimits = WIRE_LIMITS,
  libraryOnly = false,
): unknown {
  const budget: Budget = { elements: 0, limits };
  const walk = (x: unknown, depth: number): unknown => {
    const simple = leaf(x, depth, limits);
    if (simple !== NOT_A_LEAF) return simple;
    if (typeof x === 'bigint') return Number(x);
    if (typeof x === 'function') {
      const ref = (x as { [LIBRARY_REF]?: LibraryRef })[LIBRARY_REF];
      if (ref) return { [LIBRARY]: ref };
      if (libraryOnly) {
        throw new WireError(
          'a function written in a graded test cannot be sent to an answer (it would run in the ' +
            "answer's process): pass a course-library function, libraryFunction(module, name)",
        );
      }
      return { [FUNCTION]: String(x.name).slice(0, 100) };
    }
    if (typeof x !== 'object' || x === null) return String(x);
    if (x instanceof tf.Tensor) return encodeTensor(x, budget);
    if (Array.isArray(x)) {
      spend(budget, x.length);
      return x.map((item) => walk(item, depth + 1));
    }
    const keys = Object.keys(x);
    spend(budget, keys.length);
    return plainObject(keys.map((k) => [k, walk((x as Record<string, unknown>)[k], depth + 1)]));
  };
  return walk(value, 0);
}

/** What `decode` does with the markers of functions. */
export interface DecodeOptions {
  limits?: WireLimits;
  /** Turns a library reference into a function (the sandbox loads its copy of `src/`). */
  library?: (ref: LibraryRef) => unknown;
  /** Only check `value` (throw `WireError` if malformed); allocate nothing, return undefined. */
  check?: boolean;
}

function isShape(x: unknown): x is number[] {
  return Array.isArray(x) && x.length <= 8 && x.every((d) => Number.isInteger(d) && d >= 0);
}

function decodeTensor(w: unknown, budget: Budget, allocate: boolean): tf.Tensor | null {
  const bad = (why: string) => new WireError(`a malformed tensor came back (${why})`);
  if (w === null || typeof w !== 'object') throw bad('not an object');
  const { shape, dtype, values } = w as Record<string, unknown>;
  if (!isShape(shape)) throw bad('shape');
  if (!(DTYPES as readonly unknown[]).includes(dtype)) throw bad(`dtype ${String(dtype)}`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (values === undefined) {
    if (!allocate) return null;
    // A disposed tensor: rebuilt and disposed, so graded tests see exactly that.
    const t = tf.zeros(shape, dtype as WireDtype);
    t.dispose();
    return t;
  }
  const kind = { float32: Float32Array, int32: Int32Array, bool: Uint8Array }[dtype as WireDtype];
  if (!(values instanceof kind) || values.length !== size) throw bad('values');
  spend(budget, size);
  return allocate ? tf.tensor(values, shape, dtype as WireDtype) : null;
}

/**
 * Rebuilds a value sent by `encode`: tensors become tensors of this process's tfjs (tracked by
 * the enclosing `tf.tidy`), everything else plain data. Throws `WireError` on anything malformed
 * or too large. A function marker from an answer becomes a function that throws when called.
 */
export function decode(value: unknown, opts: DecodeOptions = {}): unknown {
  // Checked whole first, without allocating: a malformed part deep inside must not leave
  // tensors behind that were built from the parts before it.
  decodeWalk(value, opts, false);
  return opts.check ? undefined : decodeWalk(value, opts, true);
}

function decodeWalk(value: unknown, opts: DecodeOptions, allocate: boolean): unknown {
  const limits = opts.limits ?? WIRE_LIMITS;
  const budget: Budget = { elements: 0, limits };
  const walk = (x: unknown, depth: number): unknown => {
    const simple = leaf(x, depth, limits);
    if (simple !== NOT_A_LEAF) return simple;
    if (typeof x !== 'object' || x === null) throw new WireError(`unexpected ${typeof x}`);
    if (Array.isArray(x)) {
      spend(budget, x.length);
      return x.map((item) => walk(item, depth + 1));
    }
    if (ArrayBuffer.isView(x)) throw new WireError('a bare typed array');
    const entries = Object.entries(x);
    if (entries.length === 1) {
      const [key, inner] = entries[0];
      if (key === TENSOR) return decodeTensor(inner, budget, allocate);
      if (key === LIBRARY && opts.library)
        return allocate ? opts.library(inner as LibraryRef) : null;
      if (key === FUNCTION) {
        const name = typeof inner === 'string' ? inner.slice(0, 100) : 'anonymous';
        return () => {
          throw new WireError(
            `${name || 'a function'} returned by your code cannot run in the grader`,
          );
        };
      }
    }
    spend(budget, entries.length);
    // defineProperty, not assignment: a key named __proto__ stays a plain key.
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      if (k.length > limits.maxString) throw new WireError(`a key longer than ${limits.maxString}`);
      Object.defineProperty(out, k, {
        value: walk(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return walk(value, 0);
}

/** Every tensor inside `value` (arrays and plain objects searched), each once. */
export function tensorsIn(value: unknown, found = new Set<tf.Tensor>(), depth = 0): Set<tf.Tensor> {
  if (depth > WIRE_LIMITS.maxDepth || value === null || typeof value !== 'object') return found;
  if (value instanceof tf.Tensor) found.add(value);
  else if (Array.isArray(value)) value.forEach((v) => tensorsIn(v, found, depth + 1));
  else Object.values(value).forEach((v) => tensorsIn(v, found, depth + 1));
  return found;
}

/** Largest frame `FrameReader` accepts: a reply bigger than this is treated as an attack. */
export const MAX_FRAME_BYTES = 128 * 1024 * 1024;

/** One message on a byte stream: a 4-byte big-endian length, then the payload. */
export function frame(payload: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

/**
 * Splits a byte stream into frames; `push` returns the complete ones. Linear in the bytes read:
 * chunks are kept as they come and joined once, when a frame is complete (joining the whole
 * buffer on every chunk made a large reply quadratic).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Payload size of the frame being read, once its 4-byte head has arrived. */
  private size = -1;

  constructor(private readonly maxBytes = MAX_FRAME_BYTES) {}

  /** Removes and returns the first `n` buffered bytes (`n <= buffered`). */
  private take(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const first = this.chunks[0];
      if (first.length <= need) {
        parts.push(first);
        this.chunks.shift();
        need -= first.length;
      } else {
        parts.push(first.subarray(0, need));
        this.chunks[0] = first.subarray(need);
        need = 0;
      }
    }
    this.buffered -= n;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
  }

  /** Adds bytes; returns the frames they complete. Throws `WireError` on an oversized frame. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.size < 0) {
        if (this.buffered < 4) break;
        const size = this.take(4).readUInt32BE(0);
        if (size > this.maxBytes) {
          throw new WireError(`a message of ${size} bytes (the limit is ${this.maxBytes})`);
        }
        this.size = size;
      }
      if (this.buffered < this.size) break;
      frames.push(this.take(this.size));
      this.size = -1;
    }
    return frames;
  }
}
