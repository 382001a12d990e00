/**
 * Attention rollout (Abnar & Zuidema, 2020, "Quantifying Attention Flow in Transformers"): how
 * much each input token feeds each output token through a whole stack of attention layers. Per
 * layer, the heads are averaged, the identity is added for the residual connection and each row
 * is renormalised to sum to 1; the layers are then multiplied in order, `R = A_L ... A_2 A_1`, so
 * that `R[i, j]` is the share of input token `j` in token `i` after the last layer. For a ViT the
 * class token's row (row 0) over the patch columns says which patches the prediction drew on.
 */
import * as tf from '@tensorflow/tfjs';
import { op } from '../core/op';
import { assertTensor, checkShape, formatShape, type BoundDims } from '../core/shapes';

/** Options of `attentionRollout`. */
export interface RolloutOptions {
  /** Add the identity for the residual connection before renormalising. Defaults to `true`
   * (as in the paper); `false` multiplies the head-averaged attention matrices as they are. */
  residual?: boolean;
}

function checkRolloutInputs(attention: readonly tf.Tensor[], opts: RolloutOptions): void {
  if (!Array.isArray(attention) || attention.length === 0) {
    throw new TypeError(
      `attention: expected a non-empty array of [B, H, T, T] tensors (one per layer), got ${
        Array.isArray(attention) ? 'an empty array' : typeof attention
      }`,
    );
  }
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`opts: expected an object { residual? }, got ${String(opts)}`);
  }
  let dims: BoundDims = {};
  attention.forEach((a, l) => {
    assertTensor(a, `attention[${l}]`);
    dims = checkShape(a, ['B', 'H', 'T', 'T'], `attention[${l}]`, { dims });
  });
  if (opts.residual !== undefined && typeof opts.residual !== 'boolean') {
    throw new TypeError(`opts.residual: expected a boolean, got ${String(opts.residual)}`);
  }
}

/**
 * Attention rollout over layers given in order (first layer first).
 * @param attention one `[B, H, T, T]` tensor of attention weights per layer (rows sum to 1), as
 *   `VisionTransformer.forward(...).attention` gives them
 * @returns `[B, T, T]`, every row summing to 1: `R[b, i, j]` is the share of input token `j` in
 *   output token `i`
 */
export function attentionRollout(
  attention: readonly tf.Tensor[],
  opts: RolloutOptions = {},
): tf.Tensor3D {
  return op(
    'attentionRollout',
    () => checkRolloutInputs(attention, opts),
    () => {
      const len = attention[0].shape[2] as number;
      const eye = tf.eye(len).expandDims(0); // [1, T, T]
      let rollout: tf.Tensor | null = null;
      for (const a of attention) {
        let layer = tf.mean(a, 1); // [B, H, T, T] -> [B, T, T]: average the heads
        if (opts.residual !== false) {
          layer = tf.add(layer, eye); // + I for the residual
          layer = tf.div(layer, tf.sum(layer, -1, true)); // each row sums to 1 again
        }
        // Later layers multiply from the left: R = A_l R.
        rollout = rollout === null ? layer : tf.matMul(layer, rollout); // [B, T, T]
      }
      return rollout as tf.Tensor3D;
    },
  );
}

/**
 * The class token's rollout over the patches, as a grid: row 0 of `attentionRollout` without its
 * own column, reshaped to the patch grid and renormalised to sum to 1.
 * @param attention one `[B, H, N+1, N+1]` tensor per layer, token 0 the class token
 * @param gridSize patches per side (`Gh = Gw`, `N = gridSize^2`)
 * @returns `[B, Gh, Gw]`, each map summing to 1
 */
export function classTokenRollout(
  attention: readonly tf.Tensor[],
  gridSize: number,
  opts: RolloutOptions = {},
): tf.Tensor3D {
  return op(
    'classTokenRollout',
    () => {
      checkRolloutInputs(attention, opts);
      if (!Number.isInteger(gridSize) || gridSize < 1) {
        throw new RangeError(`gridSize: expected a positive integer, got ${String(gridSize)}`);
      }
      const t = attention[0];
      if (t.shape[2] !== gridSize * gridSize + 1) {
        throw new Error(
          `attention[0]: expected [B, H, N+1, N+1] with N = gridSize^2 = ${gridSize ** 2}, got ${formatShape(t.shape)}`,
        );
      }
    },
    () => {
      const r = attentionRollout(attention, opts); // [B, N+1, N+1]
      const [b, t] = r.shape;
      const row = r.slice([0, 0, 1], [b, 1, t - 1]).reshape([b, t - 1]); // class row, patch columns: [B, N]
      const norm = tf.div(row, tf.sum(row, -1, true)); // [B, N]
      return norm.reshape([b, gridSize, gridSize]) as tf.Tensor3D; // [B, N] -> [B, Gh, Gw]
    },
  );
}
