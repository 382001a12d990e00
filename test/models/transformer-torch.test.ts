// The Transformer's blocks against PyTorch's nn.TransformerEncoderLayer / TransformerDecoderLayer
// (dropout 0, relu, batch_first; norm_first for pre-norm), forward and gradients, to 1e-5.
// Fixtures: test/fixtures/make_torch_transformer.py -> torch-transformer.json.
import * as tf from '@tensorflow/tfjs';
import raw from '../fixtures/torch-transformer.json';
import {
  DecoderBlock,
  EncoderBlock,
  type NormPlacement,
} from '../../src/models/transformer-blocks';
import type { Module } from '../../src/core/module';
import { expectFixtureGrads, ft, gradsOfWeightedSum, type FixtureCase } from '../helpers/fixtures';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const cases = (raw as unknown as { cases: Record<string, FixtureCase> }).cases;

function fixtureCase(name: string): FixtureCase {
  const c = cases[name];
  if (!c) throw new Error(`no case ${name}: regenerate test/fixtures/torch-transformer.json`);
  return c;
}

/** Loads every fixture parameter into the variable of the same name; every variable must get one. */
function loadParams(module: Module, c: FixtureCase): Record<string, tf.Variable> {
  const vars = Object.fromEntries(module.namedVariables());
  const params = c.params ?? {};
  const missing = Object.keys(vars).filter((n) => !(n in params));
  if (missing.length > 0) throw new Error(`fixture lacks ${missing.join(', ')}`);
  for (const [name, value] of Object.entries(params)) {
    const v = vars[name];
    if (!v) throw new Error(`the block has no variable ${name}`);
    tf.tidy(() => v.assign(ft(value)));
  }
  return vars;
}

const TOL = { atol: 1e-5, rtol: 1e-5 };

describe('Transformer blocks against PyTorch', () => {
  for (const norm of ['post', 'pre'] as NormPlacement[]) {
    it(`EncoderBlock (${norm}-norm) = nn.TransformerEncoderLayer, forward and gradients`, async () => {
      const c = fixtureCase(`encoder_${norm}`);
      const cfg = c.config as {
        dModel: number;
        numHeads: number;
        dHidden: number;
        srcLens: number[];
      };
      const block = new EncoderBlock({ ...cfg, norm, seed: 5 });
      const vars = loadParams(block, c);
      const x = tf.variable(ft(c.inputs!.x));
      const srcLens = tf.tensor1d(cfg.srcLens, 'int32');
      await expectNoLeak(() => {
        const out = block.apply(x, { validLens: srcLens });
        expectTensorsClose(out.output, c.outputs.output, { ...TOL, label: 'output' });
        tf.dispose(out as unknown as tf.TensorContainer);
        const grads = gradsOfWeightedSum(
          () => block.apply(x, { validLens: srcLens }).output,
          c.upstream!,
          { ...vars, x },
        );
        expectFixtureGrads(grads, c);
        tf.dispose(Object.values(grads));
      }, 'EncoderBlock');
      tf.dispose([x, srcLens]);
      block.dispose();
    });

    it(`DecoderBlock (${norm}-norm) = nn.TransformerDecoderLayer, forward and gradients`, async () => {
      const c = fixtureCase(`decoder_${norm}`);
      const cfg = c.config as {
        dModel: number;
        numHeads: number;
        dHidden: number;
        srcLens: number[];
        tgtLens: number[];
      };
      const block = new DecoderBlock({ ...cfg, norm, seed: 6 });
      const vars = loadParams(block, c);
      const x = tf.variable(ft(c.inputs!.x));
      const memory = tf.variable(ft(c.inputs!.memory));
      const srcLens = tf.tensor1d(cfg.srcLens, 'int32');
      const tgtLens = tf.tensor1d(cfg.tgtLens, 'int32');
      const opts = { self: { causal: true, validLens: tgtLens }, memory: { validLens: srcLens } };
      await expectNoLeak(() => {
        const out = block.apply(x, memory, opts);
        expectTensorsClose(out.output, c.outputs.output, { ...TOL, label: 'output' });
        tf.dispose(out as unknown as tf.TensorContainer);
        const grads = gradsOfWeightedSum(() => block.apply(x, memory, opts).output, c.upstream!, {
          ...vars,
          x,
          memory,
        });
        expectFixtureGrads(grads, c);
        tf.dispose(Object.values(grads));
      }, 'DecoderBlock');
      tf.dispose([x, memory, srcLens, tgtLens]);
      block.dispose();
    });
  }
});
