// Chapter 04's LuongSeq2Seq against PyTorch (`test/fixtures/torch-luong.json`, written by
// `make_torch_luong.py`): one teacher-forced pass of each variant (logits, attention weights,
// local centres, loss) and, for three of them, every parameter's gradient.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import raw from '../fixtures/torch-luong.json';
import type { Seq2SeqBatch } from '../../src/data/batches';
import { LuongSeq2Seq, type LuongConfig } from '../../src/models/luong';
import { ft, type FixtureTensor } from '../helpers/fixtures';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

interface LuongCase {
  config: LuongConfig;
  params: Record<string, FixtureTensor>;
  outputs: {
    logits: FixtureTensor;
    weights: FixtureTensor;
    positions?: FixtureTensor;
    loss: number;
  };
  grads?: Record<string, FixtureTensor>;
}
const doc = raw as unknown as {
  inputs: Record<'src' | 'tgtIn' | 'tgtOut', number[][]> & Record<'srcLens' | 'tgtLens', number[]>;
  cases: Record<string, LuongCase>;
};

function fixtureBatch(): Seq2SeqBatch {
  const { src, srcLens, tgtIn, tgtOut, tgtLens } = doc.inputs;
  return {
    src: tf.tensor2d(src, undefined, 'int32'),
    srcLens: tf.tensor1d(srcLens, 'int32'),
    tgtIn: tf.tensor2d(tgtIn, undefined, 'int32'),
    tgtOut: tf.tensor2d(tgtOut, undefined, 'int32'),
    tgtLens: tf.tensor1d(tgtLens, 'int32'),
  };
}

describe('chapter 04 LuongSeq2Seq against PyTorch', () => {
  it('covers every score and attention kind, with and without input feeding', () => {
    const kinds = Object.values(doc.cases).map(
      (c) => `${c.config.score} ${c.config.attention} ${c.config.inputFeeding}`,
    );
    for (const want of [
      'dot global',
      'general global',
      'concat global',
      'general local-m',
      'general local-p',
      'dot local-p',
    ]) {
      assert.ok(
        kinds.some((k) => k.startsWith(want)),
        `no fixture case for ${want}`,
      );
    }
    assert.ok(kinds.some((k) => k.endsWith('false')) && kinds.some((k) => k.endsWith('true')));
  });

  for (const [name, c] of Object.entries(doc.cases)) {
    it(`${name}: logits, weights${c.outputs.positions ? ', centres' : ''}, loss${c.grads ? ' and gradients' : ''} (1e-5)`, async () => {
      const model = new LuongSeq2Seq(c.config);
      const batch = fixtureBatch();
      const named = model.namedVariables();
      assert.deepEqual(
        named.map(([n]) => n).sort(),
        Object.keys(c.params).sort(),
        'the fixture names every variable of the model',
      );
      for (const [n, v] of named) tf.tidy(() => v.assign(ft(c.params[n])));
      await expectNoLeak(() => {
        const out = model.forward(batch.src, batch.srcLens, batch.tgtIn);
        expectTensorsClose(out.logits, c.outputs.logits, { atol: 1e-5, label: 'logits' });
        expectTensorsClose(out.weights, c.outputs.weights, { atol: 1e-5, label: 'weights' });
        if (c.outputs.positions) {
          expectTensorsClose(out.positions!, c.outputs.positions, {
            atol: 1e-5,
            label: 'positions',
          });
        } else assert.equal(out.positions, undefined);
        const { value, grads } = tf.variableGrads(
          () => model.loss(batch),
          named.map(([, v]) => v),
        );
        const loss = value.dataSync()[0];
        assert.ok(Math.abs(loss - c.outputs.loss) < 1e-5, `loss ${loss} vs ${c.outputs.loss}`);
        for (const [n, v] of named) {
          if (c.grads)
            expectTensorsClose(grads[v.name], c.grads[n], { atol: 1e-5, label: `grad ${n}` });
        }
        tf.dispose([out.logits, out.weights, value, ...Object.values(grads)]);
        if (out.positions) out.positions.dispose();
      }, name);
      tf.dispose(Object.values(batch));
      model.dispose();
    });
  }
});
