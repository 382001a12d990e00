import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { silenceCpuNodeHint } from '../../src/backend/wasm-fixes';
import { GRUCell } from '../../src/core/gru';
import { parameter } from '../../src/core/module';
import { GRU } from '../../src/core/recurrent';
import { BahdanauSeq2Seq } from '../../src/models/bahdanau';
import { fusedGruActive, setFusedOps } from '../../src/core/gru-fused';
import { checkGradients, expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const close = { atol: 1e-5, rtol: 1e-5 };

/** A GRU step's output, weighted so that every element's gradient differs, summed. */
function stepLoss(cell: GRUCell, weight: tf.Tensor) {
  return (xp: tf.Tensor, h: tf.Tensor, wH: tf.Tensor, bH: tf.Tensor): tf.Scalar =>
    tf.sum(tf.mul(cell.applyGates(xp, [h], wH, bH)[0], weight));
}

/** Inputs of one step: one direction (`n` 0) or `n` directions stacked on a leading axis. */
function stepInputs(n: number, b: number, d: number, seed: number): tf.Tensor[] {
  const lead = n === 0 ? [] : [n];
  const u = (shape: number[], k: number): tf.Tensor =>
    tf.randomUniform(shape, -1.5, 1.5, 'float32', seed + k);
  return [
    u([...lead, b, 3 * d], 1), // xp
    u([...lead, b, d], 2), // h
    u([...lead, d, 3 * d], 3), // wH
    u(n === 0 ? [3 * d] : [n, 1, 3 * d], 4), // bH
    u([...lead, b, d], 5), // output weights of the loss
  ];
}

/** Value and gradients of every input, fused or plain. */
function run(fused: boolean, inputs: tf.Tensor[]): tf.Tensor[] {
  const previous = setFusedOps(fused);
  try {
    const cell = new GRUCell({ inputSize: 1, hiddenSize: inputs[1].shape.at(-1)! });
    try {
      const f = stepLoss(cell, inputs[4]);
      return tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads(f)(inputs.slice(0, 4));
        return [value, ...grads];
      });
    } finally {
      cell.dispose();
    }
  } finally {
    setFusedOps(previous);
  }
}

describe('fused GRU step (gru-fused.ts)', () => {
  for (const backend of ['wasm', 'cpu']) {
    for (const [n, d] of [
      [0, 4],
      [2, 4],
      [0, 5],
      [2, 5],
    ]) {
      // d = 4 runs the SIMD gate loops on wasm, d = 5 (not a multiple of 4) the JavaScript ones
      it(`equals the plain ops on ${backend}, ${n === 0 ? 'one direction' : 'two stacked directions'}, width ${d}: value and gradients of xp, h, wH, bH (1e-5)`, async () => {
        const original = tf.getBackend();
        const cpu = tf.findBackend('cpu');
        if (cpu !== null) silenceCpuNodeHint(cpu);
        await tf.setBackend(backend);
        try {
          await expectNoLeak(() => {
            assert.ok(fusedGruActive(), `expected the fused step on ${backend}`);
            const inputs = stepInputs(n, 3, d, 10 * n + d + (backend === 'cpu' ? 1 : 0));
            const fused = run(true, inputs);
            const plain = run(false, inputs);
            const names = ['value', 'd xp', 'd h', 'd wH', 'd bH'];
            fused.forEach((t, i) => {
              assert.deepEqual(t.shape, plain[i].shape, names[i]);
              expectTensorsClose(t, plain[i], { ...close, label: names[i] });
            });
            // not vacuous: every gradient has non-zero entries
            for (const g of fused.slice(1))
              assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 1e-3);
            tf.dispose([inputs, fused, plain]);
          }, `fused GRU ${backend}`);
        } finally {
          await tf.setBackend(original);
        }
      });
    }
  }

  for (const bidirectional of [false, true]) {
    it(`runs a ${bidirectional ? 'bidirectional' : 'one-way'} GRU layer as one op equal to the plain steps: outputs, final state, gradients of x, h0 and every weight (1e-5)`, async () => {
      await expectNoLeak(() => {
        const layer = new GRU({ inputSize: 3, hiddenSize: 4, bidirectional, seed: 3 });
        const dirs = bidirectional ? 2 : 1;
        const x = parameter(tf.randomUniform([3, 5, 3], -1, 1, 'float32', 4));
        const h0 = parameter(tf.randomUniform([3, 4 * dirs], -1, 1, 'float32', 5));
        const validLens = tf.tensor1d([5, 2, 4], 'int32');
        const wOut = tf.randomUniform([3, 5, 4 * dirs], -1, 1, 'float32', 6);
        const wFinal = tf.randomUniform([3, 4 * dirs], -1, 1, 'float32', 7);
        const vars = [x, h0, ...layer.variables()];
        const both = (fused: boolean): tf.Tensor[] => {
          const previous = setFusedOps(fused);
          try {
            return tf.tidy(() => {
              const loss = (): tf.Scalar => {
                const r = layer.apply(x, { validLens, initialState: h0 });
                return tf.add(tf.sum(tf.mul(r.outputs, wOut)), tf.sum(tf.mul(r.final, wFinal)));
              };
              const { value, grads } = tf.variableGrads(loss, vars);
              return [value, ...vars.map((v) => grads[v.name])];
            });
          } finally {
            setFusedOps(previous);
          }
        };
        const fused = both(true);
        const plain = both(false);
        const names = ['loss', 'd x', 'd h0', ...layer.namedVariables().map(([n]) => `d ${n}`)];
        fused.forEach((t, i) => expectTensorsClose(t, plain[i], { ...close, label: names[i] }));
        tf.dispose([fused, plain, x, h0, validLens, wOut, wFinal]);
        layer.dispose();
      }, 'fused GRU layer');
    });
  }

  it('has gradients equal to central finite differences (stacked directions, wasm)', () => {
    assert.ok(fusedGruActive());
    const inputs = stepInputs(2, 2, 2, 77);
    const cell = new GRUCell({ inputSize: 1, hiddenSize: 2 });
    checkGradients(stepLoss(cell, inputs[4]), inputs.slice(0, 4), { label: 'fused GRU' });
    cell.dispose();
    tf.dispose(inputs);
  });

  it('is off after setFusedOps(false), and rejects a non-boolean', () => {
    const previous = setFusedOps(false);
    try {
      assert.equal(fusedGruActive(), false);
    } finally {
      setFusedOps(previous);
    }
    assert.throws(() => setFusedOps('yes' as unknown as boolean), /on: expected true or false/);
  });
});

describe('fused decoder of BahdanauSeq2Seq (bahdanau-fused.ts)', () => {
  // [backend, decoder width, attention width]: on wasm, widths that are multiples of 4 run the
  // SIMD loops (gates, attention backward), others the JavaScript gates and plain ops
  const cases: [string, number, number][] = [
    ['wasm', 8, 4],
    ['wasm', 5, 3],
    ['cpu', 8, 4],
  ];
  for (const [backend, decoderHidden, attentionHidden] of cases) {
    it(`equals the plain ops on ${backend}, decoder width ${decoderHidden}, attention width ${attentionHidden}: logits, attention weights and the gradient of every variable through both (1e-5)`, async () => {
      const original = tf.getBackend();
      const cpu = tf.findBackend('cpu');
      if (cpu !== null) silenceCpuNodeHint(cpu);
      await tf.setBackend(backend);
      try {
        await equalsPlain(decoderHidden, attentionHidden);
      } finally {
        await tf.setBackend(original);
      }
    });
  }

  async function equalsPlain(decoderHidden: number, attentionHidden: number): Promise<void> {
    await expectNoLeak(() => {
      assert.ok(fusedGruActive(), 'expected the fused decoder');
      const model = new BahdanauSeq2Seq({
        srcVocab: 7,
        tgtVocab: 6,
        embedDim: 3,
        encoderHidden: 4,
        decoderHidden,
        attentionHidden,
        seed: 2,
      });
      const src = tf.tensor2d(
        [
          [1, 2, 3, 4],
          [5, 6, 0, 0],
          [2, 2, 1, 0],
        ],
        undefined,
        'int32',
      );
      const srcLens = tf.tensor1d([4, 2, 3], 'int32');
      const tgtIn = tf.tensor2d(
        [
          [1, 2, 3],
          [4, 5, 1],
          [3, 3, 2],
        ],
        undefined,
        'int32',
      );
      const wLogits = tf.randomUniform([3, 3, 6], -1, 1, 'float32', 8);
      const wWeights = tf.randomUniform([3, 3, 4], -1, 1, 'float32', 9);
      const vars = model.variables();
      const both = (fused: boolean): tf.Tensor[] => {
        const previous = setFusedOps(fused);
        try {
          return tf.tidy(() => {
            const out = model.forward(src, srcLens, tgtIn);
            const loss = (): tf.Scalar => {
              const r = model.forward(src, srcLens, tgtIn);
              return tf.add(
                tf.sum(tf.mul(r.logits, wLogits)),
                tf.sum(tf.mul(r.weights!, wWeights)),
              );
            };
            const { value, grads } = tf.variableGrads(loss, vars);
            return [out.logits, out.weights!, value, ...vars.map((v) => grads[v.name])];
          });
        } finally {
          setFusedOps(previous);
        }
      };
      const fused = both(true);
      const plain = both(false);
      const names = ['logits', 'weights', 'loss', ...model.namedVariables().map(([n]) => `d ${n}`)];
      fused.forEach((t, i) => expectTensorsClose(t, plain[i], { ...close, label: names[i] }));
      // not vacuous: every variable's gradient has non-zero entries
      for (const g of fused.slice(3))
        assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 1e-4);
      tf.dispose([fused, plain, src, srcLens, tgtIn, wLogits, wWeights]);
      model.dispose();
    }, 'fused decoder');
  }
});
