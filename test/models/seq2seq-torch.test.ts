// Chapter 03's models against PyTorch (`test/fixtures/torch-seq2seq.json`, written by
// `make_torch_seq2seq.py`): logits, attention weights, loss and every parameter's gradient.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import raw from '../fixtures/torch-seq2seq.json';
import { BahdanauSeq2Seq } from '../../src/models/bahdanau';
import { BaselineSeq2Seq } from '../../src/models/baseline';
import type { Seq2SeqBatch } from '../../src/data/batches';
import type { Seq2SeqConfig } from '../../src/models/encoder';
import { ft, type FixtureTensor } from '../helpers/fixtures';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

interface Seq2SeqCase {
  config: Seq2SeqConfig;
  params: Record<string, FixtureTensor>;
  outputs: { logits: FixtureTensor; weights?: FixtureTensor; loss: number };
  grads: Record<string, FixtureTensor>;
}
const doc = raw as unknown as {
  inputs: Record<'src' | 'tgtIn' | 'tgtOut', number[][]> & Record<'srcLens' | 'tgtLens', number[]>;
  cases: Record<'bahdanau' | 'baseline', Seq2SeqCase>;
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

describe('chapter 03 models against PyTorch', () => {
  for (const [kind, make] of [
    ['bahdanau', (c: Seq2SeqConfig) => new BahdanauSeq2Seq(c)],
    ['baseline', (c: Seq2SeqConfig) => new BaselineSeq2Seq(c)],
  ] as const) {
    it(`${kind}: logits, weights, loss and gradients of every parameter (1e-5)`, async () => {
      const c = doc.cases[kind];
      const model = make(c.config);
      const batch = fixtureBatch();
      const named = model.namedVariables();
      assert.deepEqual(
        named.map(([n]) => n).sort(),
        Object.keys(c.params).sort(),
        'the fixture names every variable of the model',
      );
      for (const [name, v] of named) tf.tidy(() => v.assign(ft(c.params[name])));
      await expectNoLeak(() => {
        const out = model.forward(batch.src, batch.srcLens, batch.tgtIn);
        expectTensorsClose(out.logits, c.outputs.logits, { atol: 1e-5, label: 'logits' });
        if (c.outputs.weights) {
          expectTensorsClose(out.weights!, c.outputs.weights, { atol: 1e-5, label: 'weights' });
        } else assert.equal(out.weights, undefined);
        const { value, grads } = tf.variableGrads(
          () => model.loss(batch),
          named.map(([, v]) => v),
        );
        assert.ok(
          Math.abs(value.dataSync()[0] - c.outputs.loss) < 1e-5,
          `loss ${value.dataSync()[0]} vs ${c.outputs.loss}`,
        );
        for (const [name, v] of named) {
          expectTensorsClose(grads[v.name], c.grads[name], { atol: 1e-5, label: `grad ${name}` });
        }
        tf.dispose([
          out.logits,
          ...(out.weights ? [out.weights] : []),
          value,
          ...Object.values(grads),
        ]);
      }, kind);
      tf.dispose(Object.values(batch));
      model.dispose();
    });
  }
});
