/**
 * Why scaled dot-product attention divides by `sqrt(d)`, measured instead of asserted.
 *
 * If the `d` entries of a query `q` and of a key `k` are independent with mean 0 and variance 1,
 * then `q . k` is a sum of `d` independent products of variance 1, so `Var(q . k) = d`. Scores
 * that spread over a range of `sqrt(d)` make the softmax pick (almost) one key, and a saturated
 * softmax passes back almost no gradient. `q . k / sqrt(d)` has variance 1 at every width
 * (Vaswani et al., 2017, section 3.2.1 and footnote 4).
 *
 * `softmaxSaturation` measures one batch of scores; `scoreStatsByDim` draws random queries and
 * keys for several widths and measures unscaled and scaled scores side by side.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../core/random';
import { checkInt, checkRows } from '../core/shapes';
import { dotScores, scaledDotScores } from '../attention/scoring';

/** How spread out a batch of scores is, and how saturated the softmax over them is. */
export interface SoftmaxSaturation {
  /** Variance of all the scores, `mean((x - mean(x))^2)` over every entry. */
  variance: number;
  /** Mean over rows of the largest weight `max_s w_s`: `1/S` for uniform weights, 1 for one-hot. */
  meanMaxWeight: number;
  /** Mean over rows of the entropy `-sum_s w_s log w_s` in nats: `log S` when uniform, 0 when one-hot. */
  meanEntropy: number;
  /**
   * Mean over rows of the Frobenius norm of the softmax Jacobian `J = diag(w) - w w^T`, i.e. how
   * much the weights move when the scores move: `sqrt(S - 1) / S` when uniform, 0 when one-hot.
   */
  meanJacobianNorm: number;
}

/**
 * Measures scores and the softmax over their last axis.
 *
 * With `w = softmax(x)` per row: the largest weight, the entropy `H(w) = -sum_s w_s log w_s`
 * (computed as `-sum_s w_s logsoftmax(x)_s`, which stays finite when a weight underflows to 0), and
 * the Jacobian norm from the closed form
 * `||diag(w) - w w^T||_F^2 = sum_s w_s^2 - 2 sum_s w_s^3 + (sum_s w_s^2)^2`.
 * @param scores `[..., S]` float32, finite
 * @returns plain numbers, averaged over every row (every position of the leading axes)
 */
export function softmaxSaturation(scores: tf.Tensor): SoftmaxSaturation {
  checkRows(scores, 'scores');
  const stats = tf.tidy(() => {
    const { variance } = tf.moments(scores);
    const logW = tf.logSoftmax(scores); // [..., S]
    const w = tf.exp(logW); // [..., S]
    const maxW = tf.mean(tf.max(w, -1));
    const entropy = tf.mean(tf.neg(tf.sum(tf.mul(w, logW), -1)));
    const s2 = tf.sum(tf.square(w), -1); // [...]: sum_s w_s^2
    const s3 = tf.sum(tf.pow(w, 3), -1); // [...]: sum_s w_s^3
    // Rounding can make the squared norm of a one-hot row a tiny negative number; clip it at 0.
    const jac = tf.mean(tf.sqrt(tf.relu(tf.add(tf.sub(s2, tf.mul(2, s3)), tf.square(s2)))));
    return tf.stack([variance, maxW, entropy, jac]);
  });
  const [variance, meanMaxWeight, meanEntropy, meanJacobianNorm] = Array.from(stats.dataSync());
  stats.dispose();
  return { variance, meanMaxWeight, meanEntropy, meanJacobianNorm };
}

/** Options of `scoreStatsByDim`. */
export interface ScoreStatsOptions {
  /** Widths `d` to measure, positive integers, e.g. `[2, 4, 8, ..., 512]`. */
  dims: number[];
  /** Keys per query `S` (the softmax runs over them). Defaults to 16. */
  numKeys?: number;
  /** Queries per width; each gets its own `S` keys. More give steadier numbers. Defaults to 1024. */
  numQueries?: number;
  /** Seed of the random queries and keys. Defaults to 0. */
  seed?: number;
}

/** The measurements at one width `d`. */
export interface ScoreStatsRow {
  /** The width of queries and keys. */
  d: number;
  /** Dot-product scores `q . k`: variance close to `d`. */
  unscaled: SoftmaxSaturation;
  /** Scaled scores `q . k / sqrt(d)`: variance close to 1. */
  scaled: SoftmaxSaturation;
}

/**
 * For each width `d`: draws `numQueries` queries `q ~ N(0, I_d)`, each with its own `numKeys` keys
 * `k ~ N(0, I_d)`, scores them with `dotScores` and `scaledDotScores`, and measures both with
 * `softmaxSaturation`. Theory: `Var(q . k) = d` and `Var(q . k / sqrt(d)) = 1`.
 *
 * Each width draws from its own seed (derived from `seed` and `d`), so adding a width to the list
 * does not change the numbers of the others.
 * @returns one row per entry of `dims`, in the same order
 */
export function scoreStatsByDim(options: ScoreStatsOptions): ScoreStatsRow[] {
  if (options === null || typeof options !== 'object' || !Array.isArray(options.dims)) {
    throw new TypeError('scoreStatsByDim: expected options { dims: number[], ... }');
  }
  const { dims, numKeys = 16, numQueries = 1024, seed = 0 } = options;
  if (dims.length === 0) throw new RangeError('dims: expected at least one width, got []');
  dims.forEach((d, i) => checkInt(d, `dims[${i}]`));
  checkInt(numKeys, 'numKeys');
  checkInt(numQueries, 'numQueries');
  checkInt(seed, 'seed', 0);
  return dims.map((d) => {
    const [query, key, unscaledScores, scaledScores] = tf.tidy(() => {
      const q = tf.randomNormal([numQueries, 1, d], 0, 1, 'float32', deriveSeed(seed, `q${d}`)); // [B, T=1, D]
      const k = tf.randomNormal(
        [numQueries, numKeys, d],
        0,
        1,
        'float32',
        deriveSeed(seed, `k${d}`),
      ); // [B, S, D]
      return [q, k, dotScores(q, k), scaledDotScores(q, k)]; // scores [B, 1, S]
    });
    try {
      return {
        d,
        unscaled: softmaxSaturation(unscaledScores),
        scaled: softmaxSaturation(scaledScores),
      };
    } finally {
      tf.dispose([query, key, unscaledScores, scaledScores]);
    }
  });
}
