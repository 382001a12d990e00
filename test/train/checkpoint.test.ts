import * as assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Linear } from '../../src/core/linear';
import { Module } from '../../src/core/module';
import {
  LIBRARY_VERSION,
  checkpointBytes,
  loadCheckpoint,
  loadCheckpointBytes,
  saveCheckpoint,
} from '../../src/train/checkpoint';
import { decodeSafetensors, encodeSafetensors, tensorBytes } from '../../src/train/safetensors';
import raw from '../fixtures/torch-checkpoint.json';
import { CheckpointNet, TINY_CHECKPOINT } from '../helpers/checkpoint-net';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

type FixtureTensor = { shape: number[]; data: number[]; dtype?: string };
const torch = raw as unknown as {
  read: {
    tensors: Record<string, FixtureTensor>;
    metadata: Record<string, string>;
    inputs: { x: FixtureTensor };
    outputs: { y: FixtureTensor };
  };
  wrote: { tensors: Record<string, FixtureTensor>; metadata: Record<string, string> };
};
const FIXTURES = join(__dirname, '..', 'fixtures', 'checkpoint');

/** The module's variables as plain `{shape, data}` values, by name. */
function snapshot(module: Module): Record<string, { shape: number[]; data: number[] }> {
  return Object.fromEntries(
    module.namedVariables().map(([name, v]) => [name, { shape: v.shape, data: [...v.dataSync()] }]),
  );
}

/** Same variable names as CheckpointNet but a hidden width of 5. */
class WiderNet extends Module {
  readonly hidden = new Linear({ inFeatures: 3, outFeatures: 5 });
  readonly out = new Linear({ inFeatures: 5, outFeatures: 2, bias: false });
  readonly counts = tf.tidy(() => tf.variable(tf.tensor1d([0, 0, 0], 'int32'), false));
}

/** Like CheckpointNet, with `out` renamed to `head`, and `counts` float32. */
class RenamedNet extends Module {
  readonly hidden = new Linear({ inFeatures: 3, outFeatures: 4 });
  readonly head = new Linear({ inFeatures: 4, outFeatures: 2, bias: false });
  readonly counts = tf.tidy(() => tf.variable(tf.zeros([3]), false));
}

describe('checkpoints', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ah-checkpoint-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round trip: a fresh model with another seed loaded from the file gives identical outputs', async () => {
    await expectNoLeak(async () => {
      const a = new CheckpointNet(3);
      const b = new CheckpointNet(11);
      const x = tf.randomNormal([5, 3], 0, 1, 'float32', 1);
      const ya = a.apply(x);
      const before = b.apply(x);
      assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(ya, before))).dataSync()[0]) > 1e-3);
      const path = join(dir, 'model.safetensors');
      await saveCheckpoint(a, path, TINY_CHECKPOINT.info);
      const loaded = await loadCheckpoint(b, path);
      const yb = b.apply(x);
      assert.deepEqual([...yb.dataSync()], [...ya.dataSync()]); // bit for bit
      assert.deepEqual(snapshot(b), snapshot(a));
      assert.deepEqual(loaded.config, { inFeatures: 3, hidden: 4, outFeatures: 2 });
      assert.equal(loaded.seed, 3);
      assert.equal(loaded.step, 120);
      assert.deepEqual(loaded.metrics, { loss: 0.25, accuracy: 0.875 });
      assert.equal(loaded.notes, TINY_CHECKPOINT.info.notes);
      assert.equal(loaded.libraryVersion, LIBRARY_VERSION);
      assert.equal(LIBRARY_VERSION, JSON.parse(readFileSync('src/package.json', 'utf8')).version);
      assert.deepEqual(loaded.names, ['hidden.weight', 'hidden.bias', 'out.weight', 'counts']);
      assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file left behind');
      tf.dispose([x, ya, before, yb]);
      a.dispose();
      b.dispose();
    }, 'save + load');
  });

  it('in memory: checkpointBytes and loadCheckpointBytes round trip, without info', () => {
    const a = new CheckpointNet(4);
    const b = new CheckpointNet(5);
    const loaded = loadCheckpointBytes(b, checkpointBytes(a));
    assert.deepEqual(snapshot(b), snapshot(a));
    assert.equal(loaded.config, undefined);
    assert.equal(loaded.metadata.library, 'attention-hands-on');
    a.dispose();
    b.dispose();
  });

  it('PyTorch reads the committed file written by this code with the same values and outputs', () => {
    const net = new CheckpointNet(TINY_CHECKPOINT.seed);
    // The committed file is what checkpointBytes still writes (tensors and metadata).
    const now = decodeSafetensors(checkpointBytes(net, TINY_CHECKPOINT.info));
    const committed = decodeSafetensors(readFileSync(join(FIXTURES, 'tiny.safetensors')));
    assert.deepEqual(now.tensors, committed.tensors);
    assert.deepEqual(
      { ...now.metadata, library_version: '' },
      { ...committed.metadata, library_version: '' },
    );
    // What PyTorch read (torch.frombuffer on the raw bytes) equals the module's variables.
    const read = torch.read.tensors;
    assert.deepEqual(Object.keys(read).sort(), [
      'counts',
      'hidden.bias',
      'hidden.weight',
      'out.weight',
    ]);
    assert.equal(read.counts.dtype, 'int32');
    assert.equal(read['hidden.weight'].dtype, 'float32');
    for (const [name, v] of net.namedVariables()) {
      assert.deepEqual(read[name].shape, v.shape, name);
      assert.deepEqual(read[name].data, [...v.dataSync()], name);
    }
    assert.deepEqual(torch.read.metadata, committed.metadata);
    // And the model computed in PyTorch (float64) from those weights matches ours.
    const x = tf.tensor(torch.read.inputs.x.data, torch.read.inputs.x.shape);
    const y = net.apply(x);
    expectTensorsClose(y, torch.read.outputs.y, { atol: 1e-5, label: 'y' });
    tf.dispose([x, y]);
    net.dispose();
  });

  it('loads a safetensors file written by Python (other tensor order, foreign metadata)', async () => {
    const net = new CheckpointNet(0);
    const loaded = await loadCheckpoint(net, join(FIXTURES, 'from-python.safetensors'));
    assert.equal(loaded.libraryVersion, undefined);
    assert.deepEqual(loaded.metadata, { format: 'pt', writer: 'make_torch_checkpoint.py' });
    const got = snapshot(net);
    // Values set by hand in make_torch_checkpoint.py.
    assert.deepEqual(got['hidden.bias'].data, [0.5, -0.25, 0.125, 1.0]);
    assert.deepEqual(got.counts.data, [10, -20, 30]);
    assert.deepEqual(
      got['out.weight'].data,
      [-0.875, -0.625, -0.375, -0.125, 0.125, 0.375, 0.625, 0.875],
    );
    for (const [name, t] of Object.entries(torch.wrote.tensors)) {
      assert.deepEqual(got[name], { shape: t.shape, data: t.data }, name);
    }
    net.dispose();
  });

  it('says exactly which names are missing or unexpected and which shapes or dtypes differ, and loads nothing', () => {
    const bytes = checkpointBytes(new CheckpointNet(1));
    const wider = new WiderNet();
    const before = snapshot(wider);
    assert.throws(
      () => loadCheckpointBytes(wider, bytes, 'checkpoint run.safetensors'),
      (e: Error) => {
        assert.match(
          e.message,
          /^checkpoint run.safetensors: does not match the module \(nothing was loaded\)/,
        );
        assert.match(
          e.message,
          /hidden.weight: shape \[3, 4\] in the file, \[3, 5\] in the module/,
        );
        assert.match(e.message, /hidden.bias: shape \[4\] in the file, \[5\] in the module/);
        assert.match(e.message, /out.weight: shape \[4, 2\] in the file, \[5, 2\] in the module/);
        assert.doesNotMatch(e.message, /counts/);
        return true;
      },
    );
    assert.deepEqual(snapshot(wider), before, 'a failed load changes nothing');
    const renamed = new RenamedNet();
    assert.throws(
      () => loadCheckpointBytes(renamed, bytes),
      (e: Error) => {
        assert.match(e.message, /missing in the file: head.weight\n/);
        assert.match(e.message, /not in the module: out.weight\n/);
        assert.match(e.message, /counts: dtype I32 in the file, float32 \(F32\) in the module/);
        return true;
      },
    );
    wider.dispose();
    renamed.dispose();
  });

  it('rejects NaN and infinite values, naming the tensor and position', () => {
    const net = new CheckpointNet(2);
    const tensors = decodeSafetensors(checkpointBytes(net)).tensors;
    /** The checkpoint with one tensor's values replaced. */
    const withValues = (target: string, values: number[]): Uint8Array =>
      encodeSafetensors(
        tensors.map(([name, t]) => [
          name,
          name === target ? { ...t, data: tensorBytes(values, 'F32') } : t,
        ]),
      );
    assert.throws(
      () => loadCheckpointBytes(net, withValues('hidden.bias', [0, 1, Number.NaN, 2])),
      /hidden.bias: value NaN at flat index 2 \(only finite values load\)/,
    );
    assert.throws(
      () => loadCheckpointBytes(net, withValues('out.weight', [0, 0, 0, 0, 0, Infinity, 0, 0])),
      /out.weight: value Infinity at flat index 5/,
    );
    net.dispose();
  });

  it('a truncated, corrupt or missing file gives an error naming the path', async () => {
    const net = new CheckpointNet(1);
    const bytes = checkpointBytes(net);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 5));
    await assert.rejects(
      loadCheckpoint(net, cut),
      new RegExp(
        `checkpoint ${cut}: not a readable safetensors checkpoint: truncated: .* ends at byte \\d+ of the data buffer`,
      ),
    );
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'these are not weights at all, just some text');
    await assert.rejects(
      loadCheckpoint(net, text),
      new RegExp(
        `checkpoint ${text}: not a readable safetensors checkpoint: header length \\d+ exceeds`,
      ),
    );
    const nowhere = join(dir, 'nowhere.safetensors');
    await assert.rejects(
      loadCheckpoint(net, nowhere),
      new RegExp(`checkpoint ${nowhere}: cannot read it: ENOENT`),
    );
    net.dispose();
  });

  it('replaces an earlier checkpoint, but never a file that is not one unless told to', async () => {
    const net = new CheckpointNet(1);
    const path = join(dir, 'model.safetensors');
    await saveCheckpoint(net, path, { step: 1 });
    await saveCheckpoint(net, path, { step: 2 });
    assert.equal((await loadCheckpoint(net, path)).step, 2);
    const other = join(dir, 'data.bin');
    writeFileSync(other, 'precious');
    await assert.rejects(
      saveCheckpoint(net, other),
      new RegExp(
        `path ${other}: exists and is not a checkpoint written by this library; pass overwrite: true`,
      ),
    );
    assert.equal(readFileSync(other, 'utf8'), 'precious');
    // A safetensors file from elsewhere is not ours either.
    const foreign = join(dir, 'foreign.safetensors');
    copyFileSync(join(FIXTURES, 'from-python.safetensors'), foreign);
    await assert.rejects(
      saveCheckpoint(net, foreign),
      /exists and is not a checkpoint written by this library/,
    );
    assert.deepEqual(
      readFileSync(foreign),
      readFileSync(join(FIXTURES, 'from-python.safetensors')),
    );
    rmSync(foreign);
    await saveCheckpoint(net, other, { overwrite: true });
    assert.deepEqual((await loadCheckpoint(net, other)).names.length, 4);
    await assert.rejects(saveCheckpoint(net, dir), /is a directory/);
    await assert.rejects(
      saveCheckpoint(net, join(dir, 'no', 'such', 'dir.safetensors')),
      /could not write the checkpoint: ENOENT/,
    );
    assert.deepEqual(
      readdirSync(dir).sort(),
      ['data.bin', 'model.safetensors'],
      'no temporary file left behind',
    );
    assert.ok(!existsSync(join(dir, 'no')));
    net.dispose();
  });

  it('validates its arguments, naming them', async () => {
    const net = new CheckpointNet(1);
    assert.throws(() => checkpointBytes({} as Module), /module: expected a Module, got object/);
    assert.throws(
      () => checkpointBytes(net, { seed: Number.NaN }),
      /seed: expected a finite number, got NaN/,
    );
    assert.throws(
      () => checkpointBytes(net, { step: -1 }),
      /step: expected an integer >= 0, got -1/,
    );
    assert.throws(
      () => checkpointBytes(net, { metrics: { loss: Infinity } }),
      /metrics.loss: expected a finite number, got Infinity/,
    );
    assert.throws(
      () => checkpointBytes(net, { config: () => 1 }),
      /config: expected a JSON value, got function/,
    );
    await assert.rejects(saveCheckpoint(net, ''), /path: expected a non-empty file path, got ""/);
    await assert.rejects(
      loadCheckpoint(net, 3 as unknown as string),
      /path: expected a non-empty file path, got 3/,
    );
    net.dispose();
  });
});
