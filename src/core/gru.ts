/**
 * The gated recurrent unit (Cho et al., 2014), with PyTorch's gate equations (`nn.GRUCell`):
 *
 * ```text
 * r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
 * z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
 * n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))       candidate state
 * h' = (1 - z) * n + z * h
 * ```
 *
 * The reset gate multiplies `W_hn h + b_hn`, bias included: that is PyTorch's (and cuDNN's)
 * variant, slightly different from the paper's `W_hn (r * h)`. Weights are fused, `r | z | n`
 * side by side: `wX [I, 3D]`, `wH [D, 3D]`, `bX [3D]`, `bH [3D]` (see `recurrent-cell.ts` for the
 * mapping to PyTorch's `weight_ih_l0`).
 */
import * as tf from '@tensorflow/tfjs';
import { fusedGruActive, gruStepFused } from './gru-fused';
import { RecurrentCell, type RecurrentCellConfig } from './recurrent-cell';

/** One GRU step, `h' = GRU(x, h)`; the sequence layer is `GRU` in `recurrent.ts`. */
export class GRUCell extends RecurrentCell {
  readonly stateCount = 1;

  /** @param config `{ inputSize, hiddenSize, seed? }`; weights start `U(-1/sqrt(D), 1/sqrt(D))`. */
  constructor(config: RecurrentCellConfig) {
    super(config, 3, 'gru');
  }

  /**
   * One step, with its inputs checked (shapes, and finite values: a read back to the host while
   * finite checks are on, see `setFiniteChecks`; a tuned loop can call `stepProjected`).
   * @param x `[B, I]`
   * @param h `[B, D]` the previous state (zeros at the start of a sequence)
   * @returns `h' [B, D]`
   */
  step(x: tf.Tensor, h: tf.Tensor): tf.Tensor2D {
    this.checkStep(x, [[h, 'h']]);
    return tf.tidy(() => this.stepProjected(this.projectInputs(x), [h])[0] as tf.Tensor2D);
  }

  /**
   * The GRU equations from the projected input `xp = x W_x + b_x` (no checks; see
   * `RecurrentCell.applyGates`). Shapes for one direction: `xp [B, 3D]`, `states = [h]` with
   * `h [B, D]`, `wH [D, 3D]`, `bH [3D]`; returns `[h']`.
   */
  applyGates(xp: tf.Tensor, states: tf.Tensor[], wH: tf.Tensor, bH: tf.Tensor): tf.Tensor[] {
    const d = this.hiddenSize;
    const h = states[0];
    // The same equations as one op with a hand-written backward (`gru-fused.ts`), where available.
    if (fusedGruActive()) return [gruStepFused(xp, h, wH, bH)];
    const hp =
      wH.rank === 2
        ? tf.fused.matMul({ a: h as tf.Tensor2D, b: wH as tf.Tensor2D, bias: bH }) // [B, D] x [D, 3D] + [3D] -> [B, 3D], one kernel
        : tf.add(tf.matMul(h, wH), bH); // [2, B, D] x [2, D, 3D] + [2, 1, 3D] -> [2, B, 3D]
    const [xRz, xN] = tf.split(xp, [2 * d, d], -1); // [.., 3D] -> [.., 2D], [.., D]
    const [hRz, hN] = tf.split(hp, [2 * d, d], -1); // [.., 3D] -> [.., 2D], [.., D]
    const [r, z] = tf.split(tf.sigmoid(tf.add(xRz, hRz)), 2, -1); // [.., 2D] -> 2 x [.., D]
    const n = tf.tanh(tf.add(xN, tf.mul(r, hN))); // [.., D]
    return [tf.add(n, tf.mul(z, tf.sub(h, n)))]; // (1 - z) n + z h = n + z (h - n)
  }
}
