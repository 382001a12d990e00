/**
 * The sandbox seen from a graded test: what crosses the process boundary and how it comes back
 * (tensors with their dtype, disposed tensors, leaked tensors, thrown error classes, library
 * functions passed in, functions and hostile keys coming out), and the wire format underneath.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { NotImplementedError } from '../../src/course/exercise';
import { Feedback } from '../../tools/grading/framework';
import { prepareSubmission, type PreparedSubmission } from '../../tools/grading/prepare';
import { SandboxSession } from '../../tools/grading/sandbox';
import { typeCheckAnswers } from '../../tools/grading/typecheck';
import {
  decode,
  encode,
  frame,
  FrameReader,
  libraryFunction,
  WireError,
} from '../../tools/grading/wire';

const PROBE = `
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';
export const answer = { n: 42, list: [1, 'two', null] };
export function leaky(x: tf.Tensor): tf.Tensor {
  tf.add(x, 1); tf.add(x, 2); tf.add(x, 3); // never freed
  return tf.mul(x, 2);
}
export function disposed(x: tf.Tensor): tf.Tensor { const y = tf.neg(x); y.dispose(); return y; }
export function echo(x: tf.Tensor): tf.Tensor { return x; }
export function dtypes() {
  return { i: tf.tensor1d([1, 2], 'int32'), b: tf.tensor1d([1, 0], 'bool'), n: [NaN, -0, Infinity] };
}
export function throwsRange(): never { throw new RangeError('tau must be > 0'); }
export function throwsCustom(): never { const e = new Error('odd'); e.name = 'MyError'; throw e; }
export function throwsString(): never { throw 'a string'; }
export function stub(): never { return notImplemented('stub', 'exercises/99-probe/probe.ts'); }
export function apply(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): tf.Tensor { return f(x); }
export function returnsFunction() { return () => 1; }
export function returnsProto() { return JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'); }
export function exits(): never { process.exit(3); }
`;

describe('sandbox: values across the boundary', function () {
  this.timeout(60_000);
  let answers: string;
  let prepared: PreparedSubmission;
  let session: SandboxSession;
  let probe: Record<string, (...args: unknown[]) => unknown>;

  before(() => {
    answers = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-'));
    fs.mkdirSync(path.join(answers, '99-probe'));
    fs.writeFileSync(path.join(answers, '99-probe', 'probe.ts'), PROBE);
    prepared = prepareSubmission(answers);
    session = new SandboxSession({ callMs: 3000 });
    const opened = session.open(prepared.dir, '99-probe/probe.ts');
    assert.ok('module' in opened, JSON.stringify(opened));
    probe = opened.module as typeof probe;
  });

  after(() => {
    session.close();
    prepared.cleanup();
    fs.rmSync(answers, { recursive: true, force: true });
  });

  it('passes exported values as data', () => {
    assert.deepEqual(probe.answer, { n: 42, list: [1, 'two', null] });
  });

  it('rebuilds tensors with their shape, dtype and values, NaN and -0 included', () => {
    const x = tf.tensor2d([
      [1, NaN],
      [-0, 4],
    ]);
    const got = probe.echo(x) as tf.Tensor;
    assert.ok(got instanceof tf.Tensor && got !== x);
    assert.deepEqual([got.shape, got.dtype], [[2, 2], 'float32']);
    assert.ok(Object.is(got.dataSync()[2], -0) && Number.isNaN(got.dataSync()[1]));
    const d = probe.dtypes() as { i: tf.Tensor; b: tf.Tensor; n: number[] };
    assert.deepEqual([d.i.dtype, Array.from(d.i.dataSync())], ['int32', [1, 2]]);
    assert.deepEqual([d.b.dtype, Array.from(d.b.dataSync())], ['bool', [1, 0]]);
    assert.ok(Number.isNaN(d.n[0]) && Object.is(d.n[1], -0) && d.n[2] === Infinity);
  });

  it("mirrors the tensors a call leaked, so tf.memory() checks still see them, inside the test's tidy", () => {
    const x = tf.tensor1d([1, 2]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      probe.leaky(x);
      assert.equal(tf.memory().numTensors - before, 1 + 3); // the result and 3 leaked
      probe.echo(x);
      assert.equal(tf.memory().numTensors - before, 1 + 3 + 1); // returning an input leaks nothing
    });
    assert.equal(tf.memory().numTensors, before);
  });

  it('returns a disposed tensor as a disposed tensor', () => {
    assert.equal((probe.disposed(tf.tensor1d([1])) as tf.Tensor).isDisposed, true);
  });

  it('rethrows the class of what the answer threw', () => {
    assert.throws(
      () => probe.throwsRange(),
      (e: unknown) => e instanceof RangeError && e.message === 'tau must be > 0',
    );
    assert.throws(
      () => probe.throwsCustom(),
      (e: unknown) => e instanceof Error && e.name === 'MyError',
    );
    assert.throws(() => probe.throwsString(), /a string/);
    assert.throws(
      () => probe.stub(),
      (e: unknown) => e instanceof NotImplementedError && e.file === 'exercises/99-probe/probe.ts',
    );
  });

  it('passes course-library functions by name; a returned function cannot run here', () => {
    const softmax = libraryFunction<(x: tf.Tensor) => tf.Tensor>('attention/softmax', 'softmax');
    const x = tf.tensor1d([1, 2, 3]);
    const got = probe.apply(softmax, x) as tf.Tensor;
    assert.deepEqual(
      Array.from(got.dataSync()).map((v) => v.toFixed(5)),
      Array.from(softmax(x).dataSync()).map((v) => v.toFixed(5)),
    );
    assert.throws(
      () => probe.apply((t: tf.Tensor) => t, x),
      /a function written in a graded test cannot be sent to an answer/,
    );
    const fn = probe.returnsFunction() as () => unknown;
    assert.throws(() => fn(), WireError);
  });

  it('keeps a "__proto__" key a plain key', () => {
    const got = probe.returnsProto() as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(got), Object.prototype);
    assert.ok(Object.hasOwn(got, '__proto__'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(got.ok, 1);
  });

  it('fails a call that ends the process with a Feedback, and restarts for the next call', () => {
    assert.throws(
      () => probe.exits(),
      (e: unknown) => e instanceof Feedback && /exit code 3/.test(e.message),
    );
    assert.deepEqual((probe.echo(tf.scalar(5)) as tf.Tensor).dataSync()[0], 5);
  });
});

describe('wire format', () => {
  it('refuses malformed or oversized data with a WireError', () => {
    const bad: unknown[] = [
      { __tensor__: { shape: [2], dtype: 'float32', values: new Float32Array(3) } },
      { __tensor__: { shape: [2], dtype: 'string', values: ['a', 'b'] } },
      { __tensor__: { shape: [-1], dtype: 'float32', values: new Float32Array(0) } },
      { __tensor__: { shape: [2], dtype: 'int32', values: new Float32Array(2) } },
      new Float32Array(2),
    ];
    for (const value of bad) assert.throws(() => decode(value), WireError, JSON.stringify(value));
    const limits = { maxElements: 10, maxDepth: 3, maxString: 5 };
    assert.throws(() => encode(tf.zeros([11]), limits), /more than 10 numbers/);
    assert.throws(() => encode([[[[1]]]], limits), /deeper than 3/);
    assert.throws(() => encode('abcdef', limits), /longer than 5/);
    assert.throws(() => encode(tf.tensor(['a'])), /dtype string cannot be graded/);
  });

  it('splits a byte stream into frames, however it is chunked, and refuses oversized ones', () => {
    const bytes = Buffer.concat([
      frame(Buffer.from('hello')),
      frame(Buffer.from('')),
      frame(Buffer.from('world!')),
    ]);
    for (const size of [1, 3, 7, bytes.length]) {
      const reader = new FrameReader();
      const got: string[] = [];
      for (let i = 0; i < bytes.length; i += size)
        got.push(...reader.push(bytes.subarray(i, i + size)).map(String));
      assert.deepEqual(got, ['hello', '', 'world!'], `chunks of ${size}`);
    }
    assert.throws(
      () => new FrameReader(4).push(frame(Buffer.from('hello'))),
      /5 bytes \(the limit is 4\)/,
    );
  });

  it('names the module it expected for a library function', () => {
    assert.throws(
      () => libraryFunction('../solutions/x', 'f'),
      /expected a module under src\/ like "attention\/softmax", got "\.\.\/solutions\/x"/,
    );
    assert.throws(
      () => libraryFunction('attention/softmax', 'nope'),
      /src\/attention\/softmax has no exported function "nope"/,
    );
  });
});

describe('type check of answers', () => {
  it('names the file format it expected', () => {
    assert.throws(
      () => typeCheckAnswers('solutions', ['masked-softmax.ts']),
      /expected files like "02-scoring-functions\/masked-softmax\.ts", got "masked-softmax\.ts"/,
    );
  });
});
