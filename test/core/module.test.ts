import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Linear } from '../../src/core/linear';
import { Module, parameter } from '../../src/core/module';

/** A toy model whose output projection reuses the embedding table (a tied weight). */
class Tiny extends Module {
  readonly embed: tf.Variable;
  readonly encoder: Encoder;
  readonly blocks: Linear[];
  readonly head: TiedHead;
  readonly frozen: tf.Variable;
  readonly notes = { name: 'tiny', sizes: [1, 2] };

  constructor() {
    super();
    this.embed = parameter(tf.ones([5, 3])); // 15
    this.encoder = new Encoder(); // 3*4 + 4 = 16
    this.blocks = [
      new Linear({ inFeatures: 3, outFeatures: 3, seed: 1 }), // 12
      new Linear({ inFeatures: 3, outFeatures: 3, bias: false, seed: 2 }), // 9
    ];
    this.head = new TiedHead(this.embed); // 2 (own bias) + the tied table
    this.frozen = tf.tidy(() => tf.variable(tf.zeros([7]), false));
  }
}

class Encoder extends Module {
  readonly proj = new Linear({ inFeatures: 3, outFeatures: 4 });
}

class TiedHead extends Module {
  readonly bias = parameter(tf.zeros([2]));
  constructor(readonly table: tf.Variable) {
    super();
  }
}

describe('Module', () => {
  it('collects variables from fields, sub-modules and arrays, with dotted paths, a tied weight once', () => {
    const before = tf.memory().numTensors;
    const model = new Tiny();
    assert.deepEqual(
      model.namedVariables().map(([name, v]) => [name, v.shape]),
      [
        ['embed', [5, 3]],
        ['encoder.proj.weight', [3, 4]],
        ['encoder.proj.bias', [4]],
        ['blocks.0.weight', [3, 3]],
        ['blocks.0.bias', [3]],
        ['blocks.1.weight', [3, 3]],
        ['head.bias', [2]],
        ['frozen', [7]],
      ],
    );
    // 15 + 16 + 12 + 9 + 2 = 54: the shared table once, the frozen vector not at all.
    assert.equal(model.numParameters(), 54);
    assert.equal(model.variables().length, 7);
    assert.ok(model.variables().every((v) => v.trainable));
    assert.deepEqual(
      model.namedChildren().map(([name]) => name),
      ['encoder', 'blocks.0', 'blocks.1', 'head'],
    );
    const table = model.parameterTable();
    assert.deepEqual(table[1], {
      name: 'encoder.proj.weight',
      shape: '[3, 4]',
      parameters: 12,
      trainable: 'yes',
    });
    assert.equal(table[7].trainable, 'no');
    model.dispose(); // must not throw on the tied table, must free every variable
    assert.equal(model.head.table.isDisposed, true);
    assert.equal(tf.memory().numTensors, before);
  });

  it('sets training mode on every sub-module with train() and eval()', () => {
    const model = new Tiny();
    assert.equal(model.training, true);
    assert.equal(model.eval(), model);
    assert.deepEqual(
      [model, model.encoder, model.encoder.proj, ...model.blocks, model.head].map(
        (m) => m.training,
      ),
      [false, false, false, false, false, false],
    );
    model.train();
    assert.equal(model.blocks[1].training, true);
    assert.throws(
      () => model.train('no' as unknown as boolean),
      /^TypeError: mode: expected true or false, got no/,
    );
    model.dispose();
  });

  it('gives a gradient for every collected variable of a Linear stack', () => {
    const model = new Tiny();
    const x = tf.ones([2, 3]);
    const { grads } = tf.variableGrads(
      () => model.blocks[1].apply(model.blocks[0].apply(x)).sum() as tf.Scalar,
      model.blocks.flatMap((b) => b.variables()),
    );
    assert.equal(Object.keys(grads).length, 3);
    tf.dispose([x, grads]);
    model.dispose();
  });
});
