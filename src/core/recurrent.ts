/**
 * Recurrent sequence layers over a padded batch: `GRU` and `LSTM`, one layer, uni- or
 * bidirectional, equal to PyTorch's `nn.GRU` / `nn.LSTM` (`batch_first`) run on a
 * `pack_padded_sequence` (checked against it in `test/core/recurrent.test.ts`).
 *
 * Padding. Sequence `b` has `validLens[b]` real steps, then padding. Padding must change neither a
 * sequence's final state nor its outputs; PyTorch's packed sequences simply stop each sequence at
 * its length. Here every sequence runs all `S` steps (one batched product per step), and then
 *
 * ```text
 * output_t = m_t * h_t          (m_t = 1 on real steps, 0 on padding)
 * final    = h_{len - 1}        (the initial state when len = 0)
 * ```
 *
 * which equals carrying the state through padding, `h_t = m_t cell(x_t, h_{t-1}) + (1 - m_t)
 * h_{t-1}`, because padding only ever follows the real steps. The backward direction reads each
 * sequence from its own last real step back to step 0: the inputs are reversed within each valid
 * length (a gather of per-example reversed indices), run forward, and the outputs reversed back
 * the same way.
 *
 * Speed. The input part of every gate is one matrix product for all steps,
 * `[S*B, I] x [I, G*D]`, before the loop; each step adds one `[B, D] x [D, G*D]` product and a
 * few element-wise ops, and nothing reads values back to the host. A bidirectional layer runs
 * both directions in the same loop, stacked on a leading axis, so it costs about as many ops as
 * one direction. Measured on wasm (2-core machine, shared): a bidirectional GRU at `B` 128, `S`
 * 24, `I` 32, `D` 64, forward plus backward, ~100-125 ms, in about 1,850 kernel calls.
 *
 * On the wasm and cpu backends a GRU layer runs its whole recurrence as one op with a hand-written
 * backward through time (`gruSequenceFused` in `gru-fused.ts`): per step one product and one
 * element-wise kernel each way, and one weight-gradient product for all steps (the same numbers;
 * `setFusedOps(false)` gives the plain loop below). The LSTM always runs the plain loop.
 */
import * as tf from '@tensorflow/tfjs';
import { GRUCell } from './gru';
import { fusedGruActive, gruSequenceFused } from './gru-fused';
import { LSTMCell } from './lstm';
import { Module } from './module';
import { deriveSeed } from './random';
import type { RecurrentCell } from './recurrent-cell';
import { checkDtype, checkFinite, checkInt, checkShape, formatShape } from './shapes';

/** Configuration of a `GRU` or `LSTM` sequence layer. */
export interface RecurrentConfig {
  /** Input width `I`. */
  inputSize: number;
  /** Hidden width `D` of each direction. */
  hiddenSize: number;
  /** Also run a backward direction and concatenate: outputs `[B, S, 2D]`. Defaults to `false`. */
  bidirectional?: boolean;
  /** Seed of the initial weights (each direction gets its own derived seed). Defaults to `0`. */
  seed?: number;
}

/** Options of a sequence layer's `apply`. */
export interface RecurrentApplyOptions<State> {
  /**
   * `[B]` number of real steps of each sequence, integers in `[0, S]` (int32, or integral
   * float32). Defaults to `S` for every sequence (no padding). A length of 0 gives zero outputs
   * and the initial state as final state (PyTorch rejects it).
   */
  validLens?: tf.Tensor;
  /** Initial state, `[B, dirs*D]` (forward then backward). Defaults to zeros. */
  initialState?: State;
}

/** What a `GRU` layer returns. */
export interface GRUResult {
  /** `[B, S, dirs*D]`, forward then backward along the last axis; zero at padded steps. */
  outputs: tf.Tensor3D;
  /**
   * `[B, dirs*D]` the final state: forward after each sequence's last real step, backward after
   * step 0 (PyTorch's `h_n`, as `[B, dirs*D]`). Slice `[:, :D]` / `[:, D:]` for one direction.
   */
  final: tf.Tensor2D;
}

/** What an `LSTM` layer returns. */
export interface LSTMResult extends GRUResult {
  /** `[B, dirs*D]` the final cell state (PyTorch's `c_n`), laid out like `final`. */
  finalCell: tf.Tensor2D;
}

/** The initial state of an `LSTM` layer: `h` and `c`, `[B, dirs*D]` each. */
export interface LSTMLayerState {
  h: tf.Tensor;
  c: tf.Tensor;
}

/**
 * Row indices that reverse each sequence within its valid length, for `[S*B, .]` time-major rows
 * (row `t*B + b`): step `t < len_b` reads step `len_b - 1 - t`, padded steps stay in place. The
 * permutation is its own inverse.
 * @param lens `[B]` int32
 */
function reversalIndices(lens: tf.Tensor, steps: number, batch: number): tf.Tensor1D {
  return tf.tidy(() => {
    const t = tf.range(0, steps, 1, 'int32').reshape([steps, 1]); // [S, 1]
    const len = lens.reshape([1, batch]); // [1, B]
    const one = tf.scalar(1, 'int32');
    const valid = tf.cast(tf.less(t, len), 'int32'); // [S, B]
    const flipped = tf.sub(tf.sub(len, one), t); // len - 1 - t, [S, B]
    const src = tf.add(tf.mul(valid, flipped), tf.mul(tf.sub(one, valid), t)); // [S, B]
    const b = tf.range(0, batch, 1, 'int32').reshape([1, batch]); // [1, B]
    return tf.add(tf.mul(src, tf.scalar(batch, 'int32')), b).reshape([-1]) as tf.Tensor1D; // [S, B] -> [S*B]
  });
}

/** Valid lengths, as the tensors a direction needs; built once per `apply`. */
interface Padding {
  /** `[S, B, 1]` float: 1 on real steps, 0 on padding. */
  mask: tf.Tensor;
  /** `[B]` int32: row `(len_b - 1) * B + b` of the `[S*B, D]` time-major states, the last real step. */
  lastRows: tf.Tensor1D;
  /** `[B, 1]` float: 1 when `len_b > 0` (else the final state is the initial one). */
  nonEmpty: tf.Tensor;
}

/** One direction of a layer: its cell, the row permutation it reads, its initial states. */
interface Direction {
  cell: RecurrentCell;
  /** Permutation of time-major rows that reverses each sequence, or `null` for forward. */
  reverse: tf.Tensor1D | null;
  /** `[B, D]` each (`h`, and `c` for the LSTM). */
  initial: tf.Tensor[];
}

/**
 * Runs one or two directions over time-major inputs. Call inside `tf.tidy`.
 *
 * Two directions run in the same loop, stacked on a leading axis (`[2, B, D]` states, batched
 * products with `[2, D, G*D]` recurrent weights): half the ops per step of two loops.
 *
 * Padding always comes after a sequence's real steps (the backward direction's inputs are
 * reversed within each length first), so the loop runs freely over all `S` steps; afterwards the
 * outputs are multiplied by the mask and each final state is read at the sequence's last real
 * step. Steps after it change nothing that is returned, so they get zero gradient. That is 4 ops
 * per step fewer than carrying the state through padding with `h = m h_new + (1 - m) h_old`, and
 * the same numbers.
 * @param xRows `[S*B, I]` rows `t*B + b`
 * @param padding the valid lengths, or `null` when nothing is padded
 * @returns per direction: outputs `[S, B, D]` (original step order, zero at padding) and the
 *   final states `[B, D]`
 */
function runDirections(
  directions: Direction[],
  xRows: tf.Tensor,
  steps: number,
  batch: number,
  padding: Padding | null,
): Array<{ outputs: tf.Tensor; states: tf.Tensor[] }> {
  const { cell } = directions[0];
  const d = cell.hiddenSize;
  const g = cell.gates * d;
  const both = directions.length === 2;
  // 1) the input part of every gate, all steps at once: [S*B, I] x [I, G*D] -> [S*B, G*D]
  const projected = directions.map(
    (dir) =>
      dir.cell
        .projectInputs(dir.reverse === null ? xRows : tf.gather(xRows, dir.reverse))
        .reshape([steps, batch, g]), // [S*B, G*D] -> [S, B, G*D]
  );
  // 2) the recurrence; two directions stacked on a leading axis
  let wH: tf.Tensor = cell.wH;
  let bH: tf.Tensor = cell.bH;
  let states = directions[0].initial;
  if (both) {
    wH = tf.stack(directions.map((dir) => dir.cell.wH)); // 2 x [D, G*D] -> [2, D, G*D]
    bH = tf.stack(directions.map((dir) => dir.cell.bH)).reshape([2, 1, g]); // -> [2, 1, G*D]
    states = states.map((_, k) => tf.stack(directions.map((dir) => dir.initial[k]))); // [2, B, D]
  }
  let all: tf.Tensor[]; // per state, [S, (2,) B, D]
  if (cell instanceof GRUCell && steps > 0 && fusedGruActive()) {
    // the whole recurrence as one op with a hand-written backward through time (gru-fused.ts)
    const xs = both ? tf.stack(projected, 1) : projected[0]; // [S, (2,) B, G*D]
    all = [gruSequenceFused(xs, states[0], wH, bH)];
  } else {
    const perStep = both
      ? tf.unstack(tf.stack(projected, 1)) // 2 x [S, B, G*D] -> [S, 2, B, G*D] -> S x [2, B, G*D]
      : tf.unstack(projected[0]); // [S, B, G*D] -> S x [B, G*D]
    const history: tf.Tensor[][] = states.map(() => []); // per state, S x [(2,) B, D]
    for (let t = 0; t < steps; t++) {
      states = cell.applyGates(perStep[t], states, wH, bH);
      states.forEach((s, k) => history[k].push(s));
    }
    all = history.map((seq) => tf.stack(seq)); // S x [(2,) B, D] -> [S, (2,) B, D]
  }
  // 3) per direction: [S, B, D] sequences of every state, and the loop's last states
  const sequences = all.map((seq) => (both ? tf.unstack(seq, 1) : [seq])); // -> per direction [S, B, D]
  return directions.map((dir, i) => {
    let outputs = sequences[0][i]; // [S, B, D]
    let finals: tf.Tensor[];
    if (padding === null) {
      // the last step's states, [S, B, D] -> [B, D] (the initial ones when S = 0)
      finals = sequences.map((seq, k) =>
        steps > 0 ? seq[i].slice([steps - 1], [1]).squeeze([0]) : dir.initial[k],
      );
    } else {
      // final states at each sequence's last real step; zero outputs at padding
      const { lastRows, nonEmpty } = padding;
      finals = sequences.map((seq, k) => {
        const last = tf.gather(seq[i].reshape([steps * batch, d]), lastRows); // [S*B, D] at [B] -> [B, D]
        const init = dir.initial[k];
        return tf.add(init, tf.mul(nonEmpty, tf.sub(last, init))); // len 0 keeps the initial state
      });
      outputs = tf.mul(outputs, padding.mask); // [S, B, D] * [S, B, 1]
    }
    if (dir.reverse !== null) {
      // back in the original step order: [S*B, D] -> [S, B, D]
      outputs = tf
        .gather(outputs.reshape([steps * batch, d]), dir.reverse)
        .reshape([steps, batch, d]);
    }
    return { outputs, states: finals };
  });
}

/**
 * Shared machinery of `GRU` and `LSTM`: a forward cell and an optional backward cell, input
 * checks, and the run over both directions.
 */
abstract class RecurrentLayer<Cell extends RecurrentCell> extends Module {
  /** The forward direction. */
  readonly forward: Cell;
  /** The backward direction (`null` unless `bidirectional`). */
  readonly backward: Cell | null;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bidirectional: boolean;
  /** `2` for a bidirectional layer, else `1`. */
  readonly directions: number;

  protected constructor(
    config: RecurrentConfig,
    makeCell: (c: { inputSize: number; hiddenSize: number; seed: number }) => Cell,
  ) {
    super();
    if (typeof config !== 'object' || config === null) {
      throw new TypeError(
        `config: expected { inputSize, hiddenSize, bidirectional?, seed? }, got ${config}`,
      );
    }
    this.inputSize = checkInt(config.inputSize, 'inputSize');
    this.hiddenSize = checkInt(config.hiddenSize, 'hiddenSize');
    const bidirectional = config.bidirectional ?? false;
    if (typeof bidirectional !== 'boolean') {
      throw new TypeError(`bidirectional: expected true or false, got ${String(bidirectional)}`);
    }
    this.bidirectional = bidirectional;
    this.directions = bidirectional ? 2 : 1;
    const seed = checkInt(config.seed ?? 0, 'seed', 0);
    const sizes = { inputSize: this.inputSize, hiddenSize: this.hiddenSize };
    this.forward = makeCell({ ...sizes, seed: deriveSeed(seed, 'forward') });
    this.backward = bidirectional
      ? makeCell({ ...sizes, seed: deriveSeed(seed, 'backward') })
      : null;
  }

  /**
   * Loads the weights of a PyTorch `nn.GRU` / `nn.LSTM` (1 layer) by their `state_dict` names:
   * `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, and the same with `_reverse`
   * for the backward direction. Checks every tensor before loading any.
   */
  fromTorch(stateDict: Record<string, tf.Tensor>): void {
    if (typeof stateDict !== 'object' || stateDict === null) {
      throw new TypeError(`stateDict: expected an object of tensors, got ${stateDict}`);
    }
    const cells: Array<[Cell, string]> = [[this.forward, '']];
    if (this.backward) cells.push([this.backward, '_reverse']);
    const expected = cells.flatMap(([, s]) =>
      ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'].map((n) => n + s),
    );
    const missing = expected.filter((n) => !(n in stateDict));
    const extra = Object.keys(stateDict).filter((n) => !expected.includes(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(
        `stateDict: expected exactly ${expected.join(', ')}; missing [${missing.join(', ')}], ` +
          `unexpected [${extra.join(', ')}]`,
      );
    }
    // Check all directions first, so that a bad backward tensor leaves the forward one untouched.
    const width = this.forward.gates * this.hiddenSize;
    for (const [, s] of cells) {
      checkShape(stateDict[`weight_ih_l0${s}`], [width, this.inputSize], `weight_ih_l0${s}`);
      checkShape(stateDict[`weight_hh_l0${s}`], [width, this.hiddenSize], `weight_hh_l0${s}`);
      checkShape(stateDict[`bias_ih_l0${s}`], [width], `bias_ih_l0${s}`);
      checkShape(stateDict[`bias_hh_l0${s}`], [width], `bias_hh_l0${s}`);
    }
    for (const [cell, s] of cells) {
      cell.fromTorch({
        weightIh: stateDict[`weight_ih_l0${s}`],
        weightHh: stateDict[`weight_hh_l0${s}`],
        biasIh: stateDict[`bias_ih_l0${s}`],
        biasHh: stateDict[`bias_hh_l0${s}`],
      });
    }
  }

  /**
   * Checks `x`, `validLens` and the initial state tensors, then runs both directions.
   * @returns outputs `[B, S, dirs*D]` and the final states, `[B, dirs*D]` each
   */
  protected run(
    x: unknown,
    validLens: unknown,
    initial: Array<[unknown, string]> | null,
  ): { outputs: tf.Tensor3D; states: tf.Tensor2D[] } {
    const dims = checkShape(x, ['B', 'S', this.inputSize], 'x');
    const input = x as tf.Tensor3D;
    checkDtype(input, 'float32', 'x');
    checkFinite(input, 'x');
    const [batch, steps] = input.shape;
    if (validLens !== undefined) checkSequenceLengths(validLens, batch, steps);
    const width = this.directions * this.hiddenSize;
    if (initial !== null) {
      for (const [s, name] of initial) {
        checkShape(s, ['B', width], name, { dims });
        checkDtype(s as tf.Tensor, 'float32', name);
        checkFinite(s as tf.Tensor, name);
      }
    }
    const count = this.forward.stateCount;
    const d = this.hiddenSize;
    return tf.tidy(() => {
      const xRows = input.transpose([1, 0, 2]).reshape([steps * batch, this.inputSize]); // [B, S, I] -> [S*B, I]
      let lens: tf.Tensor | null = null;
      let padding: Padding | null = null;
      if (validLens !== undefined) {
        lens = tf.cast(validLens as tf.Tensor, 'int32'); // [B]
        const t = tf.range(0, steps, 1, 'int32').reshape([steps, 1]); // [S, 1]
        const mask = tf.cast(tf.less(t, lens.reshape([1, batch])), 'float32'); // [S, B]
        const lastStep = tf.maximum(tf.sub(lens, tf.scalar(1, 'int32')), tf.scalar(0, 'int32')); // [B]
        const b = tf.range(0, batch, 1, 'int32'); // [B]
        padding = {
          mask: mask.reshape([steps, batch, 1]), // [S, B] -> [S, B, 1]
          lastRows: tf.add(tf.mul(lastStep, tf.scalar(batch, 'int32')), b) as tf.Tensor1D, // [B]
          nonEmpty: tf.cast(tf.greater(lens, tf.scalar(0, 'int32')), 'float32').reshape([batch, 1]), // [B, 1]
        };
      }
      const init = (dir: number): tf.Tensor[] =>
        Array.from(
          { length: count },
          (_, k) =>
            initial === null
              ? tf.zeros([batch, d])
              : tf.slice(initial[k][0] as tf.Tensor, [0, dir * d], [batch, d]), // [B, dirs*D] -> [B, D]
        );
      const directions: Direction[] = [{ cell: this.forward, reverse: null, initial: init(0) }];
      if (this.backward !== null) {
        const reverse =
          lens === null
            ? tf
                .reverse(tf.range(0, steps * batch, 1, 'int32').reshape([steps, batch]), 0)
                .reshape([-1]) // [S*B]
            : reversalIndices(lens, steps, batch);
        directions.push({ cell: this.backward, reverse: reverse as tf.Tensor1D, initial: init(1) });
      }
      const runs = runDirections(directions, xRows, steps, batch, padding);
      // directions side by side: dirs x [S, B, D] -> [S, B, dirs*D], dirs x [B, D] -> [B, dirs*D]
      const outputs = tf.concat(
        runs.map((r) => r.outputs),
        2,
      );
      const states = runs[0].states.map((_, k) =>
        tf.concat(
          runs.map((r) => r.states[k]),
          1,
        ),
      );
      return {
        outputs: outputs.transpose([1, 0, 2]) as tf.Tensor3D, // [S, B, dirs*D] -> [B, S, dirs*D]
        states: states as tf.Tensor2D[],
      };
    });
  }
}

/** Throws unless `validLens` is `[B]` integers in `[0, S]` (int32 or integral float32). */
function checkSequenceLengths(validLens: unknown, batch: number, steps: number): void {
  checkShape(validLens, [batch], 'validLens');
  const lens = validLens as tf.Tensor;
  checkDtype(lens, ['int32', 'float32'], 'validLens');
  const values = lens.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v > steps) {
      throw new RangeError(
        `validLens: expected integers in [0, S] = [0, ${steps}] of shape [B] = ${formatShape([batch])}, got ${v} at index ${i}`,
      );
    }
  }
}

/**
 * A GRU layer over a padded batch (PyTorch's `nn.GRU`, 1 layer, `batch_first`); the gate
 * equations are in `gru.ts`. Weights: `forward.wX [I, 3D]`, `forward.wH [D, 3D]`, `forward.bX`,
 * `forward.bH` (and `backward.*` when bidirectional). For one step at a time (a decoder), use
 * `layer.forward.step(x_t, h)` or a `GRUCell`.
 */
export class GRU extends RecurrentLayer<GRUCell> {
  constructor(config: RecurrentConfig) {
    super(config, (c) => new GRUCell(c));
  }

  /**
   * Runs the layer over a batch of sequences.
   * @param x `[B, S, I]`
   * @param options `validLens [B]`, `initialState [B, dirs*D]`
   * @returns `{ outputs [B, S, dirs*D], final [B, dirs*D] }`
   */
  apply(x: tf.Tensor, options: RecurrentApplyOptions<tf.Tensor> = {}): GRUResult {
    const { validLens, initialState } = options;
    const initial: Array<[unknown, string]> | null =
      initialState === undefined ? null : [[initialState, 'initialState']];
    const { outputs, states } = this.run(x, validLens, initial);
    return { outputs, final: states[0] };
  }
}

/**
 * An LSTM layer over a padded batch (PyTorch's `nn.LSTM`, 1 layer, `batch_first`); the gate
 * equations are in `lstm.ts`. Weights: `forward.wX [I, 4D]`, `forward.wH [D, 4D]`, `forward.bX`,
 * `forward.bH` (and `backward.*` when bidirectional). For one step at a time (a decoder), use
 * `layer.forward.step(x_t, { h, c })` or an `LSTMCell`.
 */
export class LSTM extends RecurrentLayer<LSTMCell> {
  constructor(config: RecurrentConfig) {
    super(config, (c) => new LSTMCell(c));
  }

  /**
   * Runs the layer over a batch of sequences.
   * @param x `[B, S, I]`
   * @param options `validLens [B]`, `initialState { h, c }` with `[B, dirs*D]` each
   * @returns `{ outputs [B, S, dirs*D], final [B, dirs*D], finalCell [B, dirs*D] }`
   */
  apply(x: tf.Tensor, options: RecurrentApplyOptions<LSTMLayerState> = {}): LSTMResult {
    const { validLens, initialState } = options;
    let initial: Array<[unknown, string]> | null = null;
    if (initialState !== undefined) {
      if (typeof initialState !== 'object' || initialState === null) {
        throw new TypeError(`initialState: expected { h, c }, got ${initialState}`);
      }
      initial = [
        [initialState.h, 'initialState.h'],
        [initialState.c, 'initialState.c'],
      ];
    }
    const { outputs, states } = this.run(x, validLens, initial);
    return { outputs, final: states[0], finalCell: states[1] };
  }
}
