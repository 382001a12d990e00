/**
 * One step-wise decoder interface for every sequence-to-sequence model of the course, so that
 * greedy decoding, beam search and alignment plots are written once.
 *
 * A decoder generates the target one token at a time. `start(src)` reads the source and returns
 * the initial state; `step(prev, state)` takes the previous token of every example and returns the
 * scores of the next token, the new state and, for a decoder that attends over the source, this
 * step's attention weights:
 *
 * | decoder | state |
 * |---|---|
 * | RNN with attention (chapters 03-04) | hidden state `[B, D]` and encoder outputs `[B, S, D]` |
 * | Transformer (chapter 06) | the prefix so far `[B, t]`, or each layer's key/value cache `[B, H, t, Dh]` |
 *
 * Memory is handled by the drivers, not by the decoder: `startDecoding` and `decodeStep` run the
 * decoder's methods inside `tf.tidy` and give every tensor they return its own handle (a `tf.clone`
 * that shares the data), so a decoder may return new tensors, tensors of the old state (the
 * encoder outputs) or even its inputs, and never disposes anything itself. The caller owns what the
 * drivers return and frees a state with `disposeState`.
 *
 * A state is made of tensors, numbers, strings, and arrays or plain objects of them. Every tensor
 * in a state has the batch on axis 0, so `gatherState` can reorder or repeat examples (the beams
 * of beam search).
 */
import * as tf from '@tensorflow/tfjs';
import { checkDtype, checkShape, formatShape } from '../core/shapes';

/** What one decoding step returns. */
export interface DecoderStep<State> {
  /** Unnormalized scores of the next token, `[B, V]` float32. */
  logits: tf.Tensor2D;
  /** The state after reading `prev`. */
  state: State;
  /** This step's attention weights over the source, `[B, S]`, for a decoder that attends. */
  weights?: tf.Tensor2D;
}

/**
 * A decoder that generates one token per step (see the module comment for the memory rules).
 * `State` is the decoder's own type: plain objects and arrays of tensors.
 */
export interface StepDecoder<State> {
  /** The beginning-of-sequence token fed at the first step, if the decoder knows it. */
  readonly bos?: number;
  /** The end-of-sequence token, if the decoder knows it. */
  readonly eos?: number;
  /**
   * Reads the source and returns the initial state.
   * @param src token ids `[B, S]` int32
   * @param srcValidLens `[B]` int32: source positions at or past it are padding
   */
  start(src: tf.Tensor2D, srcValidLens?: tf.Tensor1D): State;
  /**
   * One step: reads the previous token of each example.
   * @param prev `[B]` int32
   * @param state what `start` or the previous `step` returned
   */
  step(prev: tf.Tensor1D, state: State): DecoderStep<State>;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Copies a state, replacing each tensor by `f(tensor)`; other values are kept as they are. */
function mapTensors<S>(state: S, f: (t: tf.Tensor) => tf.Tensor): S {
  const walk = (x: unknown): unknown => {
    if (x instanceof tf.Tensor) return f(x);
    if (Array.isArray(x)) return x.map(walk);
    if (isPlainObject(x))
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v)]));
    return x;
  };
  return walk(state) as S;
}

/** Every tensor in a state (arrays and plain objects are searched), each once. */
export function stateTensors(state: unknown): tf.Tensor[] {
  const out = new Set<tf.Tensor>();
  mapTensors(state, (t) => {
    out.add(t);
    return t;
  });
  return [...out];
}

/** Frees every tensor of a state returned by `startDecoding`, `decodeStep` or `gatherState`. */
export function disposeState(state: unknown): void {
  for (const t of stateTensors(state)) if (!t.isDisposed) t.dispose();
}

/** Throws unless `decoder` has `start` and `step` methods. */
export function checkStepDecoder(decoder: unknown): void {
  const d = decoder as StepDecoder<unknown> | null;
  if (
    d === null ||
    typeof d !== 'object' ||
    typeof d.start !== 'function' ||
    typeof d.step !== 'function'
  ) {
    throw new TypeError(
      'decoder: expected an object with start(src, srcValidLens?) and step(prev, state) methods',
    );
  }
}

/**
 * Calls `decoder.start` and returns a state the caller owns (free it with `disposeState`).
 * @param src `[B, S]` int32 token ids
 * @param srcValidLens `[B]` int32 source lengths, optional
 */
export function startDecoding<State>(
  decoder: StepDecoder<State>,
  src: tf.Tensor2D,
  srcValidLens?: tf.Tensor1D,
): State {
  checkStepDecoder(decoder);
  const dims = checkShape(src, ['B', 'S'], 'src');
  checkDtype(src, 'int32', 'src');
  if (srcValidLens !== undefined) {
    checkShape(srcValidLens, ['B'], 'srcValidLens', { dims });
    checkDtype(srcValidLens, 'int32', 'srcValidLens');
  }
  return tf.tidy(() => {
    const state = decoder.start(src, srcValidLens);
    return mapTensors(state, (t) => t.clone()) as tf.TensorContainer;
  }) as State;
}

/**
 * Calls `decoder.step` and checks what it returns. The returned logits, weights and state are the
 * caller's (free them; the old state stays the caller's too, and is not changed).
 * @param prev `[B]` int32: the previous token of each example
 * @returns logits `[B, V]`, the new state, and weights `[B, S]` if the decoder gives them
 */
export function decodeStep<State>(
  decoder: StepDecoder<State>,
  prev: tf.Tensor1D,
  state: State,
): DecoderStep<State> {
  checkStepDecoder(decoder);
  const dims = checkShape(prev, ['B'], 'prev');
  checkDtype(prev, 'int32', 'prev');
  return tf.tidy(() => {
    const out = decoder.step(prev, state);
    if (out === null || typeof out !== 'object') {
      throw new TypeError(`decoder.step: expected {logits, state, weights?}, got ${String(out)}`);
    }
    checkShape(out.logits, ['B', 'V'], 'decoder.step logits', { dims });
    checkDtype(out.logits, 'float32', 'decoder.step logits');
    if (out.weights !== undefined) {
      checkShape(out.weights, ['B', 'S'], 'decoder.step weights', { dims });
      checkDtype(out.weights, 'float32', 'decoder.step weights');
    }
    const result: Record<string, unknown> = {
      logits: out.logits.clone(),
      state: mapTensors(out.state, (t) => t.clone()),
    };
    if (out.weights !== undefined) result.weights = out.weights.clone();
    return result as tf.TensorContainer;
  }) as unknown as DecoderStep<State>;
}

/**
 * Picks rows of every tensor of a state: row `i` of the result is row `rows[i]` of the input
 * (every tensor in a state has the batch on axis 0). Beam search uses it to follow the surviving
 * beams; `rows` may repeat (one source, several beams). The input state is left as it was.
 * @param rows `[B']` int32, each in `[0, B)`
 */
export function gatherState<State>(state: State, rows: tf.Tensor1D): State {
  checkShape(rows, [null], 'rows');
  checkDtype(rows, 'int32', 'rows');
  const tensors = stateTensors(state);
  if (tensors.length > 0) {
    const batch = tensors[0].shape[0];
    for (const t of tensors) {
      if (t.rank === 0 || t.shape[0] !== batch) {
        throw new Error(
          `state: expected every tensor to have the batch ${batch} on axis 0, got shape ${formatShape(t.shape)}`,
        );
      }
    }
    const ids = rows.dataSync();
    const bad = ids.findIndex((i) => i < 0 || i >= batch);
    if (bad >= 0)
      throw new RangeError(`rows: expected indices in [0, ${batch}), got ${ids[bad]} at ${bad}`);
  }
  return tf.tidy(() => mapTensors(state, (t) => tf.gather(t, rows)) as tf.TensorContainer) as State;
}
