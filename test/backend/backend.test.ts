import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
  BACKEND_ENV_VAR,
  type BackendName,
  backendInfo,
  initBackend,
} from '../../src/backend/backend';
import {
  FAST_WASM_KERNELS,
  MISSING_WASM_KERNELS,
  wasmMatMulFixInstalled,
  wasmSliceFixInstalled,
} from '../../src/backend/wasm-fixes';

const ROOT = path.resolve(__dirname, '../..');

/** Whether `@tensorflow/tfjs-node` can even be found: it cannot on the course's reference machine. */
const nativeFound = ((): boolean => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

/** What the automatic order should land on here. */
const expectedDefault: BackendName = nativeFound ? 'native' : 'wasm';

/** Threads wasm runs here: $ATTENTION_WASM_THREADS (a count, or auto: every core up to 4). */
// Unset, a machine with two or more cores runs the course's product loops on two threads and
// XNNPACK on one; a count (or auto) sets XNNPACK's pool, and the loops share it.
const [expectedWasmThreads, expectedPool] = ((raw: string): [number, number] => {
  const cores = os.availableParallelism();
  if (raw === '') return cores >= 2 ? [2, 1] : [1, 1];
  const n = raw === 'auto' ? Math.min(cores, 4) : Number(raw);
  return [n, n];
})((process.env.ATTENTION_WASM_THREADS ?? '').trim().toLowerCase());

describe('initBackend', () => {
  const savedEnv = process.env[BACKEND_ENV_VAR];
  let lines: string[] = [];
  const log = (line: string): void => {
    lines.push(line);
  };

  beforeEach(async () => {
    // Each test starts from the automatic choice; a forced one is restored in afterEach.
    delete process.env[BACKEND_ENV_VAR];
    await initBackend({ log: false });
    lines = [];
  });

  afterEach(async () => {
    if (savedEnv === undefined) delete process.env[BACKEND_ENV_VAR];
    else process.env[BACKEND_ENV_VAR] = savedEnv;
    // Other test files expect the backend initBackend() picks by default.
    await initBackend({ log: false });
  });

  it('in a fresh process: does nothing on import, then prints exactly one line, once', async () => {
    const script = `
      const tf = require('@tensorflow/tfjs');
      const { initBackend, backendInfo } = require('./src/backend/backend');
      const afterImport = {
        wasmKernels: tf.getKernel('BatchMatMul', 'wasm') !== undefined,
        info: backendInfo(),
      };
      (async () => {
        const first = await initBackend();
        const second = await initBackend();
        process.stderr.write(JSON.stringify({ afterImport, same: first === second, info: first }));
      })().catch((err) => {
        process.stderr.write('ERROR ' + err.message);
        process.exit(1);
      });
    `;
    const env = { ...process.env };
    delete env[BACKEND_ENV_VAR];
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '-e', script],
      { cwd: ROOT, env, timeout: 30_000 },
    );
    const printed = stdout.split('\n').filter((l) => l.trim() !== '');
    assert.equal(printed.length, 1, `expected one line on stdout, got:\n${stdout}`);
    const report = JSON.parse(stderr) as {
      afterImport: { wasmKernels: boolean; info: unknown };
      same: boolean;
      info: { name: string; notes: string[]; fixes: string[]; summary: string };
    };
    assert.deepEqual(report.afterImport, { wasmKernels: false, info: null });
    assert.equal(report.same, true, 'the second call returns the same info object');
    assert.equal(report.info.summary, printed[0]);
    assert.equal(report.info.name, expectedDefault);
    if (!nativeFound) {
      const threads =
        expectedWasmThreads === 1
          ? '1 thread( \\([^)]*\\))?'
          : `${expectedWasmThreads} threads` +
            (expectedPool < expectedWasmThreads ? `, XNNPACK on ${expectedPool}` : '');
      assert.match(
        printed[0],
        new RegExp(
          `^backend: wasm \\(SIMD (on|off), ${threads}; native TensorFlow not installed: ` +
            'npm install @tensorflow/tfjs-node for native speed\\) \\+ fixes: matMul, ',
        ),
      );
      assert.deepEqual(report.info.notes, ['@tensorflow/tfjs-node is not installed']);
      assert.deepEqual(report.info.fixes, [
        'matMul',
        'slice',
        ...Object.values(FAST_WASM_KERNELS),
        ...MISSING_WASM_KERNELS,
      ]);
    }
  });

  it('returns the same info without printing when the choice is unchanged', async () => {
    const first = await initBackend({ log });
    const second = await initBackend({ log });
    const explicit = await initBackend({ prefer: expectedDefault, log });
    assert.equal(second, first);
    assert.equal(explicit, first);
    assert.equal(backendInfo(), first);
    assert.deepEqual(lines, []);
    assert.equal(first.name, expectedDefault);
    assert.equal(tf.getBackend(), first.tfBackend);
  });

  it('describes wasm: SIMD, its threads, the fixes, and why native is not used', async () => {
    const info = nativeFound
      ? await initBackend({ prefer: 'wasm', log })
      : await initBackend({ log }); // the automatic choice, with its notes
    assert.equal(info.tfBackend, 'wasm');
    assert.equal(typeof info.simd, 'boolean');
    assert.equal(info.threads, expectedWasmThreads, info.summary); // wasm-threads.ts plans them
    assert.deepEqual(info.fixes, [
      'matMul',
      'slice',
      ...Object.values(FAST_WASM_KERNELS),
      ...MISSING_WASM_KERNELS,
    ]);
    assert.equal(wasmMatMulFixInstalled(), true);
    if (!nativeFound) assert.ok(info.notes.some((n) => /tfjs-node is not installed/.test(n)));
  });

  it('switches to cpu with prefer, and back to the default, printing one line each time', async () => {
    const cpu = await initBackend({ prefer: 'cpu', log });
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(lines, ["backend: cpu (plain JavaScript, 1 thread; chosen by prefer: 'cpu')"]);
    assert.deepEqual(
      { name: cpu.name, simd: cpu.simd, threads: cpu.threads, fixes: cpu.fixes },
      { name: 'cpu', simd: null, threads: 1, fixes: [] },
    );
    assert.equal(await initBackend({ prefer: 'cpu', log }), cpu);
    assert.equal(lines.length, 1);

    const back = await initBackend({ log });
    assert.equal(back.name, expectedDefault);
    assert.equal(tf.getBackend(), back.tfBackend);
    assert.equal(backendInfo(), back);
    assert.equal(lines.length, 2);
    assert.equal(lines[1], back.summary);
  });

  it('notices a tf.setBackend made behind its back and restores its choice', async () => {
    const info = await initBackend({ log });
    await tf.setBackend('cpu');
    const again = await initBackend({ log });
    assert.equal(tf.getBackend(), info.tfBackend);
    assert.equal(again.summary, info.summary);
    assert.equal(lines.length, 1);
  });

  it('prints through console.log by default and nothing with log: false', async () => {
    const calls: unknown[][] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => calls.push(args);
    try {
      await initBackend({ prefer: 'cpu', log: false });
      assert.deepEqual(calls, []);
      const info = await initBackend();
      assert.deepEqual(calls, [[info.summary]]);
    } finally {
      console.log = original;
    }
  });

  it(`follows ${BACKEND_ENV_VAR} (any case), and an explicit prefer wins over it`, async () => {
    process.env[BACKEND_ENV_VAR] = ' CPU ';
    const cpu = await initBackend({ log });
    assert.equal(cpu.name, 'cpu');
    assert.deepEqual(cpu.notes, [`chosen by ${BACKEND_ENV_VAR}=cpu`]);
    const wasm = await initBackend({ prefer: 'wasm', log });
    assert.equal(wasm.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
  });

  it(`rejects an unknown ${BACKEND_ENV_VAR} value, naming it and the allowed values`, async () => {
    const running = tf.getBackend();
    process.env[BACKEND_ENV_VAR] = 'gpu';
    await assert.rejects(
      initBackend({ log }),
      /^Error: initBackend: ATTENTION_BACKEND="gpu" is not a backend: expected one of native, wasm, cpu, or unset to use the fastest that starts/,
    );
    assert.equal(tf.getBackend(), running);
    assert.deepEqual(lines, []);
  });

  it('rejects an unknown prefer value, naming it and the allowed values', async () => {
    await assert.rejects(
      initBackend({ prefer: 'tpu' as BackendName, log }),
      /initBackend: expected prefer to be one of native, wasm, cpu, got "tpu"/,
    );
  });

  it('explains how to install native TensorFlow when it is forced but absent', async () => {
    if (nativeFound) {
      // Not the course's reference machine: forcing native must then work.
      assert.equal((await initBackend({ prefer: 'native', log })).name, 'native');
      return;
    }
    const running = tf.getBackend();
    await assert.rejects(
      initBackend({ prefer: 'native', log }),
      /^Error: initBackend: prefer: 'native' asked for the native backend, but it cannot start: @tensorflow\/tfjs-node is not installed\. To get it: `npm install @tensorflow\/tfjs-node` .* Use one of wasm, cpu instead/,
    );
    process.env[BACKEND_ENV_VAR] = 'native';
    await assert.rejects(
      initBackend({ log }),
      /ATTENTION_BACKEND=native asked for the native backend, but it cannot start: @tensorflow\/tfjs-node is not installed/,
    );
    assert.equal(tf.getBackend(), running, 'a failed switch leaves the running backend alone');
    assert.deepEqual(lines, []);
  });

  it('wasmFixes: false leaves the stock kernels, and the default reinstalls the fixes', async () => {
    const stock = await initBackend({ prefer: 'wasm', wasmFixes: false, log });
    assert.deepEqual(stock.fixes, []);
    assert.equal(wasmMatMulFixInstalled(), false);
    assert.equal(wasmSliceFixInstalled(), false);
    assert.equal(tf.getKernel('UnsortedSegmentSum', 'wasm'), undefined);
    assert.doesNotMatch(stock.summary, /fixes/);
    const fixed = await initBackend({ prefer: 'wasm', log });
    assert.deepEqual(fixed.fixes, [
      'matMul',
      'slice',
      ...Object.values(FAST_WASM_KERNELS),
      ...MISSING_WASM_KERNELS,
    ]);
    assert.equal(wasmMatMulFixInstalled(), true);
    assert.equal(lines.length, 2);
  });

  it('serialises concurrent calls: one switch, one line, one info', async () => {
    const [a, b] = await Promise.all([
      initBackend({ prefer: 'cpu', log }),
      initBackend({ prefer: 'cpu', log }),
    ]);
    assert.equal(a, b);
    assert.equal(lines.length, 1);
  });
});
