import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Embedding } from '../../src/core/embedding';
import { Linear } from '../../src/core/linear';
import { Module, parameter } from '../../src/core/module';
import { ft } from '../helpers/fixtures';
import { recurrentFixture, weightedSum } from '../helpers/recurrent-fixtures';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

/** A toy language model whose output layer reuses the embedding table (tied weights). */
class TiedModel extends Module {
  readonly embed: Embedding;
  readonly mix: Linear;
  readonly outBias: tf.Variable;
  constructor(vocabSize: number, dModel: number) {
    super();
    this.embed = new Embedding({ vocabSize, dModel, seed: 1 });
    this.mix = new Linear({ inFeatures: dModel, outFeatures: dModel, seed: 2 });
    this.outBias = parameter(tf.zeros([vocabSize]));
  }
  /** ids [B, T] -> logits [B, T, V], through the shared table E: embed, mix, h E^T + b. */
  logits(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() =>
      tf.add(this.embed.project(this.mix.apply(this.embed.apply(ids))), this.outBias),
    );
  }
}

describe('Embedding', () => {
  it('matches nn.Embedding and the tied projection h E^T, values and gradients (PyTorch, 1e-5)', async () => {
    const c = recurrentFixture('embedding');
    await expectNoLeak(() => {
      const emb = new Embedding({ vocabSize: 5, dModel: 3 });
      const weight = ft(c.params.weight);
      emb.setWeights(weight);
      const ids = tf.tensor2d(c.inputs.ids as number[][], undefined, 'int32');
      const h = parameter(ft(c.inputs.h));
      const embedded = emb.apply(ids);
      const logits = emb.project(h);
      expectTensorsClose(embedded, c.outputs.embedded, { atol: 1e-5, label: 'embedded' });
      expectTensorsClose(logits, c.outputs.logits, { atol: 1e-5, label: 'logits' });
      const { value, grads } = tf.variableGrads(
        () => weightedSum(c, { embedded: emb.apply(ids), logits: emb.project(h) }),
        [emb.weight, h],
      );
      expectTensorsClose(grads[emb.weight.name], c.grads.weight, {
        atol: 1e-5,
        label: 'grad weight',
      });
      expectTensorsClose(grads[h.name], c.grads.h, { atol: 1e-5, label: 'grad h' });
      tf.dispose([weight, ids, h, embedded, logits, value, grads]);
      emb.dispose();
    }, 'embedding');
  });

  it('looks up rows (hand-checked) and adds the gradient of a repeated id', () => {
    const emb = new Embedding({ vocabSize: 3, dModel: 2 });
    emb.setWeights(
      tf.tensor2d([
        [0, 1],
        [2, 3],
        [4, 5],
      ]),
    );
    const ids = tf.tensor2d([[2, 0, 2]], undefined, 'int32');
    expectTensorsClose(emb.apply(ids), [
      [
        [4, 5],
        [0, 1],
        [4, 5],
      ],
    ]);
    const { grads } = tf.variableGrads(() => emb.apply(ids).sum() as tf.Scalar, [emb.weight]);
    // id 2 appears twice, id 1 never: d sum / dE = [[1, 1], [0, 0], [2, 2]]
    expectTensorsClose(grads[emb.weight.name], [
      [1, 1],
      [0, 0],
      [2, 2],
    ]);
    tf.dispose([ids, grads]);
    emb.dispose();
  });

  it('counts a table tied to the output projection once, and trains it from both uses', () => {
    const model = new TiedModel(7, 4);
    // table 7*4 = 28, mix 4*4 + 4 = 20, output bias 7: 55 (an untied head would add another 28)
    assert.equal(model.numParameters(), 55);
    assert.deepEqual(
      model.namedVariables().map(([n]) => n),
      ['embed.weight', 'mix.weight', 'mix.bias', 'outBias'],
    );
    const ids = tf.tensor2d([[1, 2, 3]], undefined, 'int32');
    const { value, grads } = tf.variableGrads(
      () => tf.tidy(() => model.logits(ids).square().sum()) as tf.Scalar,
      model.variables(),
    );
    // Row 6 of the table is never looked up: its gradient comes only from the tied projection.
    const row6 = grads[model.embed.weight.name].slice([6, 0], [1, 4]);
    assert.ok(
      (tf.abs(row6).sum().arraySync() as number) > 0,
      'the projection use trains the table',
    );
    tf.dispose([ids, value, grads, row6]);
    model.dispose();
  });

  it('is seeded: the same seed gives the same table, another seed a different one', () => {
    const [a, b, c] = [0, 0, 1].map((seed) => new Embedding({ vocabSize: 4, dModel: 3, seed }));
    assert.deepEqual(a.weight.arraySync(), b.weight.arraySync());
    assert.notDeepEqual(a.weight.arraySync(), c.weight.arraySync());
    [a, b, c].forEach((e) => e.dispose());
  });

  it('rejects bad ids, hidden states and configs with messages naming them', () => {
    const emb = new Embedding({ vocabSize: 5, dModel: 3 });
    const floats = tf.tensor2d([[1, 2]]);
    const big = tf.tensor2d([[1, 5]], undefined, 'int32');
    const negative = tf.tensor2d([[-1, 0]], undefined, 'int32');
    const flat = tf.tensor1d([1, 2], 'int32');
    const wide = tf.zeros([2, 4]);
    assert.throws(() => emb.apply(floats), /^TypeError: ids: expected dtype int32, got float32/);
    assert.throws(
      () => emb.apply(big),
      /^RangeError: ids: expected token ids in \[0, V\) = \[0, 5\), got 5 at flat index 1 of shape \[1, 2\]/,
    );
    assert.throws(
      () => emb.apply(negative),
      /ids: expected token ids in \[0, V\) = \[0, 5\), got -1/,
    );
    assert.throws(() => emb.apply(flat), /^Error: ids: expected rank 2 \[B, T\], got rank 1/);
    assert.throws(
      () => emb.apply([[1]] as unknown as tf.Tensor),
      /^TypeError: ids: expected a tf.Tensor/,
    );
    assert.throws(() => emb.project(wide), /^Error: h: expected shape \[\?, 3\], got \[2, 4\]/);
    assert.throws(
      () => emb.setWeights(wide),
      /^Error: weight: expected shape \[5, 3\], got \[2, 4\]/,
    );
    assert.throws(
      () => new Embedding({ vocabSize: 0, dModel: 3 }),
      /^RangeError: vocabSize: expected an integer >= 1, got number 0/,
    );
    assert.throws(
      () => new Embedding({ vocabSize: 2, dModel: 3, initStd: -1 }),
      /^RangeError: initStd: expected a finite number > 0, got number -1/,
    );
    tf.dispose([floats, big, negative, flat, wide]);
    emb.dispose();
  });
});
