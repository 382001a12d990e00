/**
 * Attention scoring functions `a(q, k)`: how much a query "matches" each key. Each returns scores
 * `[B, T, S]`; `apply` turns them into weights with a (masked) softmax and pools the values.
 */
import * as tf from '@tensorflow/tfjs';
import { lecunUniform } from '../core/init';
import { Linear } from '../core/linear';
import { Module, parameter } from '../core/module';
import { deriveSeed } from '../core/random';
import { op } from '../core/op';
import { checkFinite, checkInt, checkShape, dimOf, type BoundDims } from '../core/shapes';
import type { AttentionMaskOptions } from './masks';
import { attentionPooling, checkAttentionInputs, type AttentionResult } from './pooling';

function checkQueryKey(
  query: unknown,
  key: unknown,
  queryDim?: number,
  keyDim?: number,
): BoundDims {
  const dims = checkShape(query, ['B', 'T', queryDim ?? 'Dq'], 'query');
  checkShape(key, ['B', 'S', keyDim ?? (queryDim === undefined ? 'Dq' : 'Dk')], 'key', { dims });
  checkFinite(query as tf.Tensor, 'query');
  checkFinite(key as tf.Tensor, 'key');
  return dims;
}

/**
 * Dot-product scores `a(q, k) = q . k` (Luong et al., 2015, "dot").
 * @param query `[B, T, D]`
 * @param key `[B, S, D]`
 * @returns `[B, T, S]`
 */
export function dotScores(query: tf.Tensor, key: tf.Tensor): tf.Tensor3D {
  return op(
    'dotScores',
    () => checkQueryKey(query, key),
    () => tf.matMul(query, key, false, true) as tf.Tensor3D, // [B, T, D] x [B, S, D]^T -> [B, T, S]
  );
}

/**
 * Scaled dot-product scores `a(q, k) = q . k / sqrt(D)` (Vaswani et al., 2017).
 * @param query `[B, T, D]`
 * @param key `[B, S, D]`
 * @returns `[B, T, S]`
 */
export function scaledDotScores(query: tf.Tensor, key: tf.Tensor): tf.Tensor3D {
  return op(
    'scaledDotScores',
    () => checkQueryKey(query, key),
    () => tf.div(tf.matMul(query, key, false, true), Math.sqrt(dimOf(query, -1))) as tf.Tensor3D, // [B, T, D] x [B, S, D]^T -> [B, T, S]
  );
}

/**
 * The additive score given already projected queries and keys:
 * `scores[b, t, s] = v . tanh(q[b, t] + k[b, s])`. Shared by Bahdanau's additive attention and
 * Luong's concat attention, which differ only in how they project.
 * @param q `[B, T, A]` projected queries
 * @param k `[B, S, A]` projected keys
 * @param v `[A]`
 * @returns `[B, T, S]`
 */
export function additiveScores(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor3D {
  return op(
    'additiveScores',
    () => checkAdditive(q, k, v),
    () => {
      const [batch, queryLen, keyLen, hidden] = [
        dimOf(q, 0),
        dimOf(q, 1),
        dimOf(k, 1),
        dimOf(q, 2),
      ];
      // [B, T, 1, A] + [B, 1, S, A] -> [B, T, S, A]: every (query, key) pair
      const features = tf.tanh(tf.add(q.expandDims(2), k.expandDims(1)));
      const flat = features.reshape([-1, hidden]); // [B, T, S, A] -> [B*T*S, A]
      const scores = tf.matMul(flat, v.reshape([hidden, 1])); // [B*T*S, A] x [A, 1] -> [B*T*S, 1]
      return scores.reshape([batch, queryLen, keyLen]) as tf.Tensor3D; // -> [B, T, S]
    },
  );
}

function checkAdditive(q: unknown, k: unknown, v: unknown): void {
  const dims = checkShape(q, ['B', 'T', 'A'], 'q');
  checkShape(k, ['B', 'S', 'A'], 'k', { dims });
  checkShape(v, ['A'], 'v', { dims });
  for (const [name, x] of Object.entries({ q, k, v })) checkFinite(x as tf.Tensor, name);
}

/** An attention layer defined by its scoring function; pooling and masking are shared. */
export abstract class ScoredAttention extends Module {
  /** The query and key widths this layer needs; none: any width, the same for both. */
  protected get widths(): { queryDim?: number; keyDim?: number } {
    return {};
  }

  /**
   * Scores of every query against every key. Implementations run through `op()`, checking the
   * arguments with `checkQueryKey`.
   * @param query `[B, T, Dq]`
   * @param key `[B, S, Dk]`
   * @returns `[B, T, S]`
   */
  abstract score(query: tf.Tensor, key: tf.Tensor): tf.Tensor3D;

  /**
   * `output = maskedSoftmax(score(query, key)) value`.
   * @param query `[B, T, Dq]`
   * @param key `[B, S, Dk]`
   * @param value `[B, S, Dv]`
   * @returns output `[B, T, Dv]`, weights `[B, T, S]`
   */
  apply(
    query: tf.Tensor,
    key: tf.Tensor,
    value: tf.Tensor,
    opts: AttentionMaskOptions = {},
  ): AttentionResult {
    return op(
      `${this.constructor.name}.apply`,
      () => checkAttentionInputs({ query, key, value }, opts, this.widths),
      () => attentionPooling(this.score(query, key), value, opts),
    );
  }
}

/** Dot or scaled dot-product attention as a (parameter-free) layer, for uniform comparisons. */
export class DotProductAttention extends ScoredAttention {
  /** @param scaled divide by `sqrt(D)`. Defaults to `true`. */
  constructor(readonly scaled = true) {
    super();
  }

  score(query: tf.Tensor, key: tf.Tensor): tf.Tensor3D {
    return op(
      'DotProductAttention.score',
      () => checkQueryKey(query, key),
      () => (this.scaled ? scaledDotScores(query, key) : dotScores(query, key)),
    );
  }
}

/** Configuration of additive (Bahdanau) attention. */
export interface AdditiveAttentionConfig {
  /** Query width `Dq`. */
  queryDim: number;
  /** Key width `Dk`. */
  keyDim: number;
  /** Hidden width `A` of the one-layer scoring network. */
  hiddenDim: number;
  /** Seed of the initial weights. Defaults to 0. */
  seed?: number;
}

/**
 * Additive attention of Bahdanau et al. (2014), Eq. 6: `a(q, k) = v^T tanh(W_q^T q + W_k^T k)`, a
 * one-hidden-layer network over the pair. Works when queries and keys have different widths.
 * Parameters: `wQ: [Dq, A]`, `wK: [Dk, A]`, `v: [A]` (no biases, as in the paper).
 */
export class AdditiveAttention extends ScoredAttention {
  readonly wQ: Linear;
  readonly wK: Linear;
  readonly v: tf.Variable;

  constructor(readonly config: AdditiveAttentionConfig) {
    super();
    const { queryDim, keyDim, hiddenDim, seed = 0 } = config;
    // The caller's field names, before the inner layers would report `inFeatures`/`outFeatures`.
    checkInt(queryDim, 'queryDim');
    checkInt(keyDim, 'keyDim');
    checkInt(hiddenDim, 'hiddenDim');
    this.wQ = new Linear({
      inFeatures: queryDim,
      outFeatures: hiddenDim,
      bias: false,
      seed: deriveSeed(seed, 'wQ'),
    });
    this.wK = new Linear({
      inFeatures: keyDim,
      outFeatures: hiddenDim,
      bias: false,
      seed: deriveSeed(seed, 'wK'),
    });
    this.v = parameter(lecunUniform([hiddenDim], hiddenDim, deriveSeed(seed, 'v')));
  }

  protected override get widths(): { queryDim: number; keyDim: number } {
    return this.config;
  }

  score(query: tf.Tensor, key: tf.Tensor): tf.Tensor3D {
    return op(
      'AdditiveAttention.score',
      () => checkQueryKey(query, key, this.config.queryDim, this.config.keyDim),
      () => additiveScores(this.wQ.apply(query), this.wK.apply(key), this.v), // [B, T, S]
    );
  }
}

/** Configuration of Luong's "general" attention. */
export interface LuongGeneralConfig {
  /** Query (decoder state) width `Dq`. */
  queryDim: number;
  /** Key (encoder state) width `Dk`. */
  keyDim: number;
  /** Seed of the initial weights. Defaults to 0. */
  seed?: number;
}

/**
 * Luong "general" (bilinear) attention (Luong et al., 2015, Eq. 8): `a(q, k) = q^T W_a k`.
 * Parameter: `wA: [Dq, Dk]`.
 */
export class LuongGeneralAttention extends ScoredAttention {
  readonly wA: Linear;

  constructor(readonly config: LuongGeneralConfig) {
    super();
    const { queryDim, keyDim, seed = 0 } = config;
    checkInt(queryDim, 'queryDim');
    checkInt(keyDim, 'keyDim');
    this.wA = new Linear({
      inFeatures: queryDim,
      outFeatures: keyDim,
      bias: false,
      seed: deriveSeed(seed, 'wA'),
    });
  }

  protected override get widths(): { queryDim: number; keyDim: number } {
    return this.config;
  }

  score(query: tf.Tensor, key: tf.Tensor): tf.Tensor3D {
    return op(
      'LuongGeneralAttention.score',
      () => checkQueryKey(query, key, this.config.queryDim, this.config.keyDim),
      () => {
        const projected = this.wA.apply(query); // [B, T, Dq] -> [B, T, Dk]
        return tf.matMul(projected, key, false, true) as tf.Tensor3D; // [B, T, Dk] x [B, S, Dk]^T -> [B, T, S]
      },
    );
  }
}

/** Configuration of Luong's "concat" attention. */
export interface LuongConcatConfig {
  /** Query width `Dq`. */
  queryDim: number;
  /** Key width `Dk`. */
  keyDim: number;
  /** Hidden width `A`. */
  hiddenDim: number;
  /** Seed of the initial weights. Defaults to 0. */
  seed?: number;
}

/**
 * Luong "concat" attention (Luong et al., 2015, Eq. 8): `a(q, k) = v_a^T tanh(W_a [q; k])`.
 * Parameters: `wA: [Dq + Dk, A]` over the concatenation (query first), `v: [A]`.
 *
 * Concatenating every (query, key) pair would build a `[B, T, S, Dq + Dk]` tensor. Instead we use
 * the block identity `W_a [q; k] = W_top^T q + W_bottom^T k`: the same numbers, the cost of additive
 * attention.
 */
export class LuongConcatAttention extends ScoredAttention {
  readonly wA: Linear;
  readonly v: tf.Variable;

  constructor(readonly config: LuongConcatConfig) {
    super();
    const { queryDim, keyDim, hiddenDim, seed = 0 } = config;
    checkInt(queryDim, 'queryDim');
    checkInt(keyDim, 'keyDim');
    checkInt(hiddenDim, 'hiddenDim');
    this.wA = new Linear({
      inFeatures: queryDim + keyDim,
      outFeatures: hiddenDim,
      bias: false,
      seed: deriveSeed(seed, 'wA'),
    });
    this.v = parameter(lecunUniform([hiddenDim], hiddenDim, deriveSeed(seed, 'v')));
  }

  protected override get widths(): { queryDim: number; keyDim: number } {
    return this.config;
  }

  score(query: tf.Tensor, key: tf.Tensor): tf.Tensor3D {
    const { queryDim, keyDim, hiddenDim } = this.config;
    return op(
      'LuongConcatAttention.score',
      () => checkQueryKey(query, key, queryDim, keyDim),
      () => {
        const wTop = this.wA.weight.slice([0, 0], [queryDim, hiddenDim]); // [Dq, A]
        const wBottom = this.wA.weight.slice([queryDim, 0], [keyDim, hiddenDim]); // [Dk, A]
        // Flattened to 2-D: tfjs has no gradient for the weight of a [B, L, K] x [K, A] matMul.
        const [batch, queryLen, keyLen] = [dimOf(query, 0), dimOf(query, 1), dimOf(key, 1)];
        const q = tf
          .matMul(query.reshape([-1, queryDim]), wTop)
          .reshape([batch, queryLen, hiddenDim]); // [B*T, Dq] x [Dq, A] -> [B, T, A]
        const k = tf.matMul(key.reshape([-1, keyDim]), wBottom).reshape([batch, keyLen, hiddenDim]); // [B*S, Dk] x [Dk, A] -> [B, S, A]
        return additiveScores(q, k, this.v); // [B, T, S]
      },
    );
  }
}
