/**
 * Long short-term memory (Hochreiter and Schmidhuber, 1997, with the forget gate of Gers et al.,
 * 2000), with PyTorch's gate equations (`nn.LSTMCell`):
 *
 * ```text
 * i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)          input gate
 * f  = sigmoid(W_if x + b_if + W_hf h + b_hf)          forget gate
 * g  = tanh(W_ig x + b_ig + W_hg h + b_hg)             candidate cell
 * o  = sigmoid(W_io x + b_io + W_ho h + b_ho)          output gate
 * c' = f * c + i * g
 * h' = o * tanh(c')
 * ```
 *
 * Weights are fused, `i | f | g | o` side by side: `wX [I, 4D]`, `wH [D, 4D]`, `bX [4D]`,
 * `bH [4D]` (see `recurrent-cell.ts` for the mapping to PyTorch's `weight_ih_l0`).
 */
import * as tf from '@tensorflow/tfjs';
import { RecurrentCell, type RecurrentCellConfig } from './recurrent-cell';

/** The state of an LSTM: the output `h` and the cell (memory) `c`, `[B, D]` each. */
export interface LSTMState {
  h: tf.Tensor;
  c: tf.Tensor;
}

/** One LSTM step, `(h', c') = LSTM(x, (h, c))`; the sequence layer is `LSTM` in `recurrent.ts`. */
export class LSTMCell extends RecurrentCell {
  readonly stateCount = 2;

  /** @param config `{ inputSize, hiddenSize, seed? }`; weights start `U(-1/sqrt(D), 1/sqrt(D))`. */
  constructor(config: RecurrentCellConfig) {
    super(config, 4, 'lstm');
  }

  /**
   * One step, with its inputs checked (shapes, and finite values: a read back to the host while
   * finite checks are on, see `setFiniteChecks`; a tuned loop can call `stepProjected`).
   * @param x `[B, I]`
   * @param state `{ h, c }`, `[B, D]` each (zeros at the start of a sequence)
   * @returns `{ h', c' }`, `[B, D]` each
   */
  step(x: tf.Tensor, state: LSTMState): LSTMState {
    if (typeof state !== 'object' || state === null) {
      throw new TypeError(`state: expected { h, c }, got ${state}`);
    }
    this.checkStep(x, [
      [state.h, 'state.h'],
      [state.c, 'state.c'],
    ]);
    const [h, c] = tf.tidy(() => this.stepProjected(this.projectInputs(x), [state.h, state.c]));
    return { h, c };
  }

  /** Both biases enter every gate unchanged, so both are added once here: `x W_x + b_x + b_h`. */
  override projectInputs(x: tf.Tensor): tf.Tensor2D {
    // [M, I] x [I, 4D] -> [M, 4D]
    return tf.add(tf.matMul(x as tf.Tensor2D, this.wX), tf.add(this.bX, this.bH));
  }

  /**
   * The LSTM equations from the projected input `xp = x W_x + b_x + b_h` (no checks; see
   * `RecurrentCell.applyGates`). Both biases are already in `xp`, so `bH` is not used here. Shapes
   * for one direction: `xp [B, 4D]`, `states = [h, c]` with `[B, D]` each, `wH [D, 4D]`;
   * returns `[h', c']`.
   */
  applyGates(xp: tf.Tensor, states: tf.Tensor[], wH: tf.Tensor): tf.Tensor[] {
    const d = this.hiddenSize;
    const [h, c] = states;
    const pre = tf.add(xp, tf.matMul(h, wH)); // [.., B, D] x [.., D, 4D] -> [.., B, 4D]
    const [ifPre, gPre, oPre] = tf.split(pre, [2 * d, d, d], -1); // -> [.., 2D], [.., D], [.., D]
    const [i, f] = tf.split(tf.sigmoid(ifPre), 2, -1); // [.., 2D] -> 2 x [.., D]
    const cNext = tf.add(tf.mul(f, c), tf.mul(i, tf.tanh(gPre))); // [.., D]
    return [tf.mul(tf.sigmoid(oPre), tf.tanh(cNext)), cNext];
  }
}
