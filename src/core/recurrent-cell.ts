/**
 * What the GRU and LSTM cells share: fused gate weights in our `[in, out]` layout, PyTorch's
 * initialisation, loading weights (ours or PyTorch's), and the input projection that a sequence
 * layer computes for all time steps in one matrix product.
 *
 * A cell with `G` gates (GRU 3, LSTM 4), input width `I` and hidden width `D` holds
 *
 * | ours | shape | PyTorch (`nn.GRU` / `nn.LSTM`, layer 0) |
 * |---|---|---|
 * | `wX` | `[I, G*D]` | `weight_ih_l0` `[G*D, I]`, transposed |
 * | `wH` | `[D, G*D]` | `weight_hh_l0` `[G*D, D]`, transposed |
 * | `bX` | `[G*D]` | `bias_ih_l0` |
 * | `bH` | `[G*D]` | `bias_hh_l0` |
 *
 * The gate blocks sit side by side along the last axis in PyTorch's order (GRU `r | z | n`, LSTM
 * `i | f | g | o`), so column block `k` of `wX` is PyTorch's row block `k` of `weight_ih_l0`,
 * transposed. The backward direction of a bidirectional layer uses the `*_reverse` tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { Module, parameter } from './module';
import { deriveSeed } from './random';
import { assertTensor, checkDtype, checkFinite, checkInt, checkShape } from './shapes';

/** Configuration of a `GRUCell` or `LSTMCell`. */
export interface RecurrentCellConfig {
  /** Input width `I`. */
  inputSize: number;
  /** Hidden width `D`. */
  hiddenSize: number;
  /** Seed of the initial weights. Defaults to `0`. */
  seed?: number;
}

/** A cell's weights in our layout (see the table in `recurrent-cell.ts`). */
export interface CellWeights {
  /** `[I, G*D]` */
  wX: tf.Tensor;
  /** `[D, G*D]` */
  wH: tf.Tensor;
  /** `[G*D]` */
  bX: tf.Tensor;
  /** `[G*D]` */
  bH: tf.Tensor;
}

/** A cell's weights in PyTorch's layout (`weight_ih_l0` and friends of `nn.GRU` / `nn.LSTM`). */
export interface TorchCellWeights {
  /** `weight_ih_l0`: `[G*D, I]` */
  weightIh: tf.Tensor;
  /** `weight_hh_l0`: `[G*D, D]` */
  weightHh: tf.Tensor;
  /** `bias_ih_l0`: `[G*D]` */
  biasIh: tf.Tensor;
  /** `bias_hh_l0`: `[G*D]` */
  biasHh: tf.Tensor;
}

function checkWeight(x: unknown, shape: number[], name: string): void {
  assertTensor(x, name);
  checkShape(x, shape, name);
  checkDtype(x, 'float32', name);
  checkFinite(x, name);
}

/**
 * Base class of the recurrent cells: the fused weights and the parts that do not depend on the
 * gate equations. Subclasses define `stepProjected`.
 */
export abstract class RecurrentCell extends Module {
  /** Input weights `[I, G*D]`. */
  readonly wX: tf.Variable;
  /** Hidden (recurrent) weights `[D, G*D]`. */
  readonly wH: tf.Variable;
  /** Input bias `[G*D]` (PyTorch's `b_ih`). */
  readonly bX: tf.Variable;
  /** Hidden bias `[G*D]` (PyTorch's `b_hh`). */
  readonly bH: tf.Variable;
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Number of gate blocks `G`. */
  readonly gates: number;

  /**
   * Weights start as PyTorch's do: every entry `U(-k, k)` with `k = 1 / sqrt(D)`.
   */
  protected constructor(config: RecurrentCellConfig, gates: number, label: string) {
    super();
    if (typeof config !== 'object' || config === null) {
      throw new TypeError(`config: expected { inputSize, hiddenSize, seed? }, got ${config}`);
    }
    this.inputSize = checkInt(config.inputSize, 'inputSize');
    this.hiddenSize = checkInt(config.hiddenSize, 'hiddenSize');
    const seed = checkInt(config.seed ?? 0, 'seed', 0);
    this.gates = gates;
    const width = gates * this.hiddenSize;
    const k = 1 / Math.sqrt(this.hiddenSize);
    const init = (shape: number[], name: string): tf.Variable =>
      parameter(tf.randomUniform(shape, -k, k, 'float32', deriveSeed(seed, `${label}.${name}`)));
    this.wX = init([this.inputSize, width], 'wX');
    this.wH = init([this.hiddenSize, width], 'wH');
    this.bX = init([width], 'bX');
    this.bH = init([width], 'bH');
  }

  /**
   * Replaces the weights, given in our layout. Checks all four (shape, dtype, finite values)
   * before loading any.
   */
  setWeights(weights: CellWeights): void {
    if (typeof weights !== 'object' || weights === null) {
      throw new TypeError(`weights: expected { wX, wH, bX, bH }, got ${weights}`);
    }
    const width = this.gates * this.hiddenSize;
    checkWeight(weights.wX, [this.inputSize, width], 'wX');
    checkWeight(weights.wH, [this.hiddenSize, width], 'wH');
    checkWeight(weights.bX, [width], 'bX');
    checkWeight(weights.bH, [width], 'bH');
    this.wX.assign(weights.wX);
    this.wH.assign(weights.wH);
    this.bX.assign(weights.bX);
    this.bH.assign(weights.bH);
  }

  /**
   * Loads PyTorch's weights (`weight_ih_l0 [G*D, I]`, `weight_hh_l0 [G*D, D]`, `bias_ih_l0`,
   * `bias_hh_l0`), transposing the matrices to our `[in, out]` layout.
   */
  fromTorch(weights: TorchCellWeights): void {
    if (typeof weights !== 'object' || weights === null) {
      throw new TypeError(
        `weights: expected { weightIh, weightHh, biasIh, biasHh }, got ${weights}`,
      );
    }
    const width = this.gates * this.hiddenSize;
    checkWeight(weights.weightIh, [width, this.inputSize], 'weightIh');
    checkWeight(weights.weightHh, [width, this.hiddenSize], 'weightHh');
    tf.tidy(() =>
      this.setWeights({
        wX: weights.weightIh.transpose(), // [G*D, I] -> [I, G*D]
        wH: weights.weightHh.transpose(), // [G*D, D] -> [D, G*D]
        bX: weights.biasIh,
        bH: weights.biasHh,
      }),
    );
  }

  /**
   * The input part of every gate for many rows at once, `x W_x + b_x` (subclasses may fold more
   * bias in). A sequence layer calls it once for all time steps: `[S*B, I] x [I, G*D]`.
   * No input checks: callers check their inputs.
   * @param x `[M, I]`
   * @returns `[M, G*D]`
   */
  projectInputs(x: tf.Tensor): tf.Tensor2D {
    return tf.add(tf.matMul(x as tf.Tensor2D, this.wX), this.bX); // [M, I] x [I, G*D] -> [M, G*D]
  }

  /** Number of state tensors (`1` for the GRU's `h`, `2` for the LSTM's `h, c`). */
  abstract readonly stateCount: number;

  /**
   * One step from an already projected input (`projectInputs`). The fast path of the sequence
   * layers: no input checks. States are `[B, D]` each, `h` first.
   * @param xp `[B, G*D]`
   * @returns the new states, `[B, D]` each
   */
  stepProjected(xp: tf.Tensor, states: tf.Tensor[]): tf.Tensor[] {
    return this.applyGates(xp, states, this.wH, this.bH);
  }

  /**
   * The gate equations with the recurrent weights passed in, for any number of leading axes: a
   * bidirectional layer runs both directions at once with `xp [2, B, G*D]`, states `[2, B, D]`,
   * `wH [2, D, G*D]` and `bH [2, 1, G*D]`, which halves the number of ops per step.
   * No input checks.
   */
  abstract applyGates(
    xp: tf.Tensor,
    states: tf.Tensor[],
    wH: tf.Tensor,
    bH: tf.Tensor,
  ): tf.Tensor[];

  /** Checks a step's input `x [B, I]` and state tensors `[B, D]`, naming them. */
  protected checkStep(x: unknown, states: Array<[unknown, string]>): void {
    const dims = checkShape(x, ['B', this.inputSize], 'x');
    checkDtype(x as tf.Tensor, 'float32', 'x');
    checkFinite(x as tf.Tensor, 'x');
    for (const [s, name] of states) {
      checkShape(s, ['B', this.hiddenSize], name, { dims });
      checkDtype(s as tf.Tensor, 'float32', name);
      checkFinite(s as tf.Tensor, name);
    }
  }
}
