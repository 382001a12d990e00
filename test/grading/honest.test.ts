/**
 * Honest messages for honest failures (issue 12): a promise rejected after a correct return
 * costs nothing (the wasm backend's own listener used to end the process with status 7 before
 * the reply left, reported as "process.exit()").
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { prepareSubmission, type PreparedSubmission } from '../../tools/grading/prepare';
import { SandboxSession } from '../../tools/grading/sandbox';

const PROBE = `
import * as tf from '@tensorflow/tfjs';
export function late(x: number): number { Promise.reject(new Error('late')); return x * 2; }
export function leakyLiar(x: tf.Tensor): tf.Tensor {
  const fake = () => ({ numTensors: 0, numDataBuffers: 0, numBytes: 0, unreliable: false });
  (tf.engine() as unknown as { memory: unknown }).memory = fake;
  Object.getPrototypeOf(tf.engine()).memory = fake;
  (tf.backend() as unknown as { memory: unknown }).memory = fake;
  tf.add(x, 1); tf.add(x, 2); tf.add(x, 3); // never freed
  return tf.mul(x, 2);
}
`;

describe('sandbox: honest messages', function () {
  this.timeout(60_000);
  let answers: string;
  let prepared: PreparedSubmission;
  let session: SandboxSession;
  let probe: Record<string, (x: unknown) => unknown>;

  before(() => {
    answers = fs.mkdtempSync(path.join(os.tmpdir(), 'honest-'));
    fs.mkdirSync(path.join(answers, '99-probe'));
    fs.writeFileSync(path.join(answers, '99-probe', 'probe.ts'), PROBE);
    prepared = prepareSubmission(answers);
    session = new SandboxSession({ callMs: 3000 });
    const opened = session.open(prepared.dir, '99-probe/probe.ts');
    assert.ok('module' in opened);
    probe = opened.module as typeof probe;
  });
  after(() => {
    session.close();
    prepared.cleanup();
    fs.rmSync(answers, { recursive: true, force: true });
  });

  it('counts leaked tensors even when the answer replaces every memory report', () => {
    const x = tf.tensor1d([1, 2]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      probe.leakyLiar(x);
      assert.equal(tf.memory().numTensors - before, 1 + 3); // the result and 3 leaked
    });
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });

  it('keeps the value returned before an unhandled rejection, and the process', () => {
    assert.equal(probe.late(21), 42);
    assert.equal(probe.late(1), 2);
  });
});
