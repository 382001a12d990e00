/**
 * Golden values of nn.Embedding, nn.GRU(Cell) and nn.LSTM(Cell) from PyTorch
 * (`test/fixtures/torch-recurrent.json`, written by `make_torch_recurrent.py`; see the README
 * there). Params keep PyTorch's names and layout; grads use our variable names and layout.
 */
import * as tf from '@tensorflow/tfjs';
import raw from '../fixtures/torch-recurrent.json';
import { ft, type FixtureTensor, type FixtureValue } from './fixtures';

export interface RecurrentFixtureCase {
  seed: number;
  config: Record<string, number | boolean>;
  inputs: Record<string, FixtureValue>;
  params: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
  upstream: Record<string, FixtureTensor>;
  grads: Record<string, FixtureTensor>;
}

const cases = (raw as unknown as { cases: Record<string, RecurrentFixtureCase> }).cases;

/** One case of `torch-recurrent.json` by name; throws if the file lacks it. */
export function recurrentFixture(name: string): RecurrentFixtureCase {
  const c = cases[name];
  if (!c) throw new Error(`no case named ${name}; regenerate test/fixtures/torch-recurrent.json`);
  return c;
}

/** The case's params as tensors, by their PyTorch names (caller disposes). */
export function torchParams(c: RecurrentFixtureCase): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, value] of Object.entries(c.params)) out[name] = ft(value);
  return out;
}

/** `sum_k sum(outputs[k] * upstream[k])` over the named outputs, the loss the fixtures differentiate. */
export function weightedSum(
  c: RecurrentFixtureCase,
  outputs: Record<string, tf.Tensor>,
): tf.Scalar {
  return tf.tidy(() =>
    Object.entries(outputs).reduce(
      (acc, [name, y]) => tf.add(acc, tf.sum(tf.mul(y, ft(c.upstream[name])))),
      tf.scalar(0),
    ),
  ) as tf.Scalar;
}
