import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_ENV_VAR, backendInfo } from '../../src/backend/backend';
import {
  WASM_THREADS_ENV_VAR,
  installWasmThreads,
  planWasmThreads,
  wasmBackendStarted,
  wasmThreadsStatus,
} from '../../src/backend/wasm-threads';

const ROOT = path.resolve(__dirname, '../..');

/**
 * A fresh process that starts the wasm backend and computes, on seeded inputs: a matMul (and the
 * same product as a plain JavaScript triple loop, the independent reference), a conv2d, and a
 * gradient through transposed products (the wasm fixes' path). Modes (`$WASM_THREADS_MODE`):
 * `init` = `initBackend()` as every entry point does; `timeout` = a 1 ms start-up limit first;
 * `direct` = two threads asked for directly, without `initBackend`'s plan.
 */
const CHILD = `
require('tsx/cjs/api').register();
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
const { installWasmThreads, wasmThreadsStatus } = require('./src/backend/wasm-threads');
const { initBackend } = require('./src/backend/backend');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const mode = process.env.WASM_THREADS_MODE;
function seeded(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}
(async () => {
  let summary = null;
  if (mode === 'direct') {
    installWasmThreads({ threads: 2 });
    if (!(await tf.setBackend('wasm'))) throw new Error('wasm did not start');
  } else {
    if (mode === 'timeout') installWasmThreads({ threads: 2, timeoutMs: 1 });
    summary = (await initBackend({ log: false })).summary;
  }
  const [M, K, N] = [96, 160, 128];
  const a = seeded(M * K, 1), b = seeded(K * N, 2);
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const A = tf.tensor2d(a, [M, K]), B = tf.tensor2d(b, [K, N]);
    const x = tf.tensor4d(seeded(2 * 12 * 12 * 8, 3), [2, 12, 12, 8]);
    const f = tf.tensor4d(seeded(3 * 3 * 8 * 16, 4), [3, 3, 8, 16]);
    const W = tf.tensor2d(seeded(K * 64, 5), [K, 64]);
    const grad = tf.grad((w) => tf.tanh(tf.matMul(A, w)).square().sum())(W);
    return [tf.matMul(A, B), tf.conv2d(x, f, 1, 'same'), grad];
  });
  const [c, conv, grad] = out.map((t) => Array.from(t.dataSync()));
  tf.dispose(out);
  let refErr = 0;
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
    refErr = Math.max(refErr, Math.abs(s - c[i * N + j]));
  }
  const helper = require('./src/backend/small-matmul').loopHelper(tf.backend());
  const report = { summary, threads: wasm.getThreadsCount(), status: wasmThreadsStatus(),
    helperReady: helper !== null && helper.ready,
    leaked: tf.memory().numTensors - before, refErr, c, conv, grad };
  process.stdout.write(JSON.stringify(report));
})().catch((err) => {
  process.stderr.write('ERROR ' + (err && err.stack || err));
  process.exit(1);
});
`;

interface ChildReport {
  summary: string | null;
  threads: number;
  status: {
    requested: number;
    threaded: boolean;
    loopHelper: boolean;
    fallback: string | null;
    startMs: number;
  } | null;
  /** Whether the course's loops have their helper thread up. */
  helperReady: boolean;
  leaked: number;
  refErr: number;
  c: number[];
  conv: number[];
  grad: number[];
}

/** Runs `CHILD` in a fresh node; it must exit by itself (a hang fails on the time limit). */
async function child(
  mode: 'init' | 'timeout' | 'direct',
  env: Record<string, string>,
  nodeFlags: string[] = [],
): Promise<ChildReport> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, WASM_THREADS_MODE: mode, ...env };
  delete childEnv[BACKEND_ENV_VAR];
  if (!(WASM_THREADS_ENV_VAR in env)) delete childEnv[WASM_THREADS_ENV_VAR];
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, '-e', CHILD], {
    cwd: ROOT,
    env: childEnv,
    timeout: 60_000,
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as ChildReport;
}

/** Asserts the report computed the right numbers: the matMul against the triple loop, no leak. */
function assertSound(r: ChildReport, label: string): void {
  assert.ok(r.refErr < 1e-4, `${label}: matMul differs from the plain loop by ${r.refErr}`);
  assert.equal(r.leaked, 0, `${label}: leaked ${r.leaked} tensor(s)`);
  assert.ok(
    r.c.every(Number.isFinite) && r.conv.every(Number.isFinite) && r.grad.every(Number.isFinite),
  );
}

/** Index and size of the largest difference between two arrays of the same length. */
function maxDiff(x: number[], y: number[]): number {
  assert.equal(x.length, y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

describe('wasm threads', () => {
  describe('planWasmThreads', () => {
    it('by default XNNPACK on 1 and the loops on 2 cores; auto = every core up to 4; or the count the variable gives', () => {
      const cores = os.availableParallelism();
      assert.deepEqual(
        planWasmThreads({}),
        cores >= 2
          ? { threads: 1, loopHelper: true, reason: null, by: 'default' }
          : { threads: 1, loopHelper: false, reason: 'one core', by: 'default' },
      );
      assert.deepEqual(planWasmThreads({ [WASM_THREADS_ENV_VAR]: ' ' }), planWasmThreads({}));
      const auto = planWasmThreads({ [WASM_THREADS_ENV_VAR]: ' Auto ' });
      assert.equal(auto.threads, cores >= 2 ? Math.min(cores, 4) : 1);
      assert.equal(auto.loopHelper, cores >= 2);
      assert.equal(auto.by, 'auto');
      assert.deepEqual(planWasmThreads({ [WASM_THREADS_ENV_VAR]: '1' }), {
        threads: 1,
        loopHelper: false,
        reason: null,
        by: 'ATTENTION_WASM_THREADS=1',
      });
      assert.deepEqual(planWasmThreads({ [WASM_THREADS_ENV_VAR]: '3' }), {
        threads: 3,
        loopHelper: true,
        reason: null,
        by: 'ATTENTION_WASM_THREADS=3',
      });
    });

    it('rejects a count that is not an integer from 1 to 8, naming the variable', () => {
      for (const bad of ['0', '9', '1.5', 'two', '-2']) {
        assert.throws(
          () => planWasmThreads({ [WASM_THREADS_ENV_VAR]: bad }),
          (e: Error) =>
            e.message.startsWith(`ATTENTION_WASM_THREADS="${bad}" is not a thread count`) &&
            e.message.includes('integer from 1 to 8'),
        );
      }
    });
  });

  it('installWasmThreads validates its options', () => {
    assert.throws(
      () => installWasmThreads({ threads: 0 }),
      /expected threads to be an integer from 1 to 8, got 0/,
    );
    assert.throws(
      () => installWasmThreads({ threads: 2, timeoutMs: -1 }),
      /expected timeoutMs to be a finite number > 0, got -1/,
    );
  });

  it('leaves a started wasm backend (and its tensors) alone', function () {
    if (!wasmBackendStarted()) this.skip();
    const factory = tf.findBackendFactory('wasm');
    const backend = tf.engine().registry.wasm;
    installWasmThreads({ threads: 2 });
    assert.equal(tf.findBackendFactory('wasm'), factory);
    assert.equal(tf.engine().registry.wasm, backend);
    installWasmThreads({ threads: planWasmThreads().threads });
  });

  it('this process runs the planned threads, and the summary line says so', function () {
    const info = backendInfo();
    if (info === null || info.name !== 'wasm') this.skip();
    const plan = planWasmThreads();
    // The loops' helper makes a second thread however small XNNPACK's pool is.
    const planned = Math.max(plan.threads, plan.loopHelper ? 2 : 1);
    assert.equal(info.threads, planned, `summary: ${info.summary}`);
    assert.equal(wasmThreadsStatus()?.threaded, plan.threads > 1 || plan.loopHelper);
    const pool = plan.threads < planned ? `, XNNPACK on ${plan.threads}` : '';
    assert.match(info.summary, new RegExp(`SIMD on, ${planned} threads?${pool}[;)]`));
  });

  it('2 threads compute the numbers of 1 thread; a failed or slow start falls back', async function () {
    if (os.availableParallelism() < 2) this.skip();
    this.timeout(120_000);
    // The timed-out start is the 1-thread reference: same entry point, single-threaded build.
    const [byDefault, two, one, denied] = await Promise.all([
      child('init', {}),
      child('init', { [WASM_THREADS_ENV_VAR]: '2' }),
      child('timeout', { [WASM_THREADS_ENV_VAR]: '2' }),
      // Node's permission model without --allow-worker: creating a worker throws.
      child('direct', { [WASM_THREADS_ENV_VAR]: '2' }, [
        '--experimental-permission',
        '--allow-fs-read=*',
        '--allow-child-process',
        '--disable-warning=ExperimentalWarning',
        '--disable-warning=SecurityWarning',
      ]),
    ]);
    for (const [r, label] of [
      [byDefault, 'the default'],
      [two, '2 threads'],
      [one, '1 thread after a time-out'],
      [denied, 'denied'],
    ] as const) {
      assertSound(r, label);
    }

    // The default: the threaded build's shared heap, XNNPACK on 1 thread, the loops' helper up.
    assert.equal(byDefault.threads, 1);
    assert.deepEqual(byDefault.status, {
      requested: 1,
      threaded: true,
      loopHelper: true,
      fallback: null,
      startMs: byDefault.status?.startMs,
    });
    assert.equal(byDefault.helperReady, true);
    assert.match(byDefault.summary ?? '', /^backend: wasm \(SIMD on, 2 threads, XNNPACK on 1; /);
    // The helper claims whole rows of the product, each summed as on one thread: the same bits.
    assert.deepEqual(byDefault.c, one.c);
    assert.deepEqual(byDefault.grad, one.grad);
    assert.deepEqual(byDefault.conv, one.conv);

    assert.equal(two.threads, 2);
    assert.deepEqual(two.status, {
      requested: 2,
      threaded: true,
      loopHelper: true,
      fallback: null,
      startMs: two.status?.startMs,
    });
    assert.equal(two.helperReady, true);
    assert.match(two.summary ?? '', /^backend: wasm \(SIMD on, 2 threads; /);
    assert.equal(one.threads, 1);
    console.log(
      `      max |2 threads - 1 thread|: matMul ${maxDiff(two.c, one.c)}, ` +
        `conv2d ${maxDiff(two.conv, one.conv)}, gradient ${maxDiff(two.grad, one.grad)}`,
    );
    // Same kernels, the work split by rows: the same numbers (float32 rounding at most).
    assert.ok(maxDiff(two.c, one.c) <= 1e-6, `matMul differs by ${maxDiff(two.c, one.c)}`);
    assert.ok(
      maxDiff(two.conv, one.conv) <= 1e-6,
      `conv2d differs by ${maxDiff(two.conv, one.conv)}`,
    );
    assert.ok(
      maxDiff(two.grad, one.grad) <= 1e-5,
      `gradient differs by ${maxDiff(two.grad, one.grad)}`,
    );

    assert.equal(one.status?.fallback, 'the threads did not start within 1 ms');
    assert.match(
      one.summary ?? '',
      /SIMD on, 1 thread \(threads failed: the threads did not start within 1 ms\); /,
    );

    assert.equal(denied.threads, 1);
    assert.equal(denied.status?.threaded, false);
    assert.match(denied.status?.fallback ?? '', /restricted|ERR_ACCESS_DENIED/);
    // (`direct` skips initBackend, so the stock kernel: the course's loop fuses its multiply-adds,
    // one rounding per term instead of two, so the two agree to float32 rounding, not bit for bit.)
    assert.ok(maxDiff(denied.c, one.c) <= 1e-6, `matMul differs by ${maxDiff(denied.c, one.c)}`);
  });
});
