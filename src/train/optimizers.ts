/**
 * Adam and AdamW over `tf.Variable`s, written out so that the update rule is visible, plus
 * clipping by global gradient norm. Everything stays on the device: the moments and the step
 * count are tensors, and no update reads a value back to the host (a read waits for the device,
 * which costs time on every step; see `fit`).
 *
 * Adam (Kingma & Ba 2015), as `torch.optim.Adam` computes it, for each variable `p` with
 * gradient `g` at update `t` (1, 2, ...):
 *
 *   m <- b1 m + (1 - b1) g            first moment (mean of g)
 *   v <- b2 v + (1 - b2) g^2          second moment (mean of g^2)
 *   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * The `1 - b^t` factors undo the bias of moments that start at 0. Adam's `weightDecay` adds
 * `weightDecay * p` to `g` (an L2 penalty, which the moments then rescale); AdamW
 * (Loshchilov & Hutter 2019) instead shrinks the weights directly, `p <- p (1 - lr wd)`, before
 * the Adam step, as `torch.optim.AdamW` does.
 */
import * as tf from '@tensorflow/tfjs';
import { formatShape } from '../core/shapes';
import type { Schedule } from './schedules';

/**
 * Gradients by variable: a `Map` from each `tf.Variable` to its gradient, or an object keyed by
 * variable name, as `tf.variableGrads` returns it.
 */
export type Gradients = Map<tf.Variable, tf.Tensor> | tf.NamedTensorMap;

/** Options of `Adam` and `AdamW`. */
export interface AdamOptions {
  /** Learning rate, or a schedule `step -> lr` asked at every update. Defaults to 1e-3. */
  lr?: number | Schedule;
  /** Decay of the first moment. Defaults to 0.9. */
  beta1?: number;
  /** Decay of the second moment. Defaults to 0.999. */
  beta2?: number;
  /** Added to `sqrt(v)` so a zero gradient does not divide by zero. Defaults to 1e-8. */
  eps?: number;
  /** Weight decay. Defaults to 0 for Adam (L2 on the gradient), 0.01 for AdamW (decoupled). */
  weightDecay?: number;
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (x instanceof tf.Tensor) return `a tensor of shape ${formatShape(x.shape)}`;
  return `${typeof x} ${String(x)}`;
}

function checkIn01(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new RangeError(`${name}: expected a number in [0, 1), got ${describe(value)}`);
  }
  return value;
}

function checkNonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name}: expected a finite number >= 0, got ${describe(value)}`);
  }
  return value;
}

function checkLr(lr: unknown): number | Schedule {
  if (typeof lr === 'function') return lr as Schedule;
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0) {
    throw new RangeError(
      `lr: expected a finite number > 0 or a schedule (step -> lr), got ${describe(lr)}`,
    );
  }
  return lr;
}

/** Adam: see the module comment for the update rule. Create it with the variables it updates. */
export class Adam {
  /** The variables this optimizer updates, in order. */
  readonly variables: readonly tf.Variable[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** The learning rate or schedule; may be changed between updates. */
  lr: number | Schedule;
  /** Updates done so far, as a float32 scalar on the device (`t` of the bias correction). */
  readonly step: tf.Variable;
  /** First moments `m`, one per variable, same order. */
  readonly m: readonly tf.Variable[];
  /** Second moments `v`, one per variable, same order. */
  readonly v: readonly tf.Variable[];
  /** Updates done so far, counted on the host (asks the schedule without reading the device). */
  private updates = 0;
  private lastLr = NaN;
  private readonly decoupled: boolean;
  private readonly byName = new Map<string, number>();
  private readonly byVariable = new Map<tf.Variable, number>();

  /**
   * @param variables the trainable variables to update (`model.variables()`), each once
   * @param opts learning rate (or schedule), betas, eps, weight decay
   */
  constructor(variables: readonly tf.Variable[], opts: AdamOptions = {}) {
    this.decoupled = this.isDecoupled();
    if (!Array.isArray(variables) || variables.length === 0) {
      throw new TypeError(
        `variables: expected a non-empty array of tf.Variable, got ${describe(variables)}`,
      );
    }
    variables.forEach((v, i) => {
      if (!(v instanceof tf.Variable)) {
        throw new TypeError(`variables[${i}]: expected a tf.Variable, got ${describe(v)}`);
      }
      if (this.byVariable.has(v)) {
        throw new Error(`variables[${i}]: the variable ${v.name} appears twice`);
      }
      if (v.dtype !== 'float32') {
        throw new TypeError(`variables[${i}]: expected dtype float32, got ${v.dtype}`);
      }
      this.byVariable.set(v, i);
      this.byName.set(v.name, i);
    });
    if (opts === null || typeof opts !== 'object') {
      throw new TypeError(`opts: expected an options object, got ${describe(opts)}`);
    }
    this.lr = checkLr(opts.lr ?? 1e-3);
    this.beta1 = checkIn01(opts.beta1 ?? 0.9, 'beta1');
    this.beta2 = checkIn01(opts.beta2 ?? 0.999, 'beta2');
    this.eps = checkNonNegative(opts.eps ?? 1e-8, 'eps');
    this.weightDecay = checkNonNegative(
      opts.weightDecay ?? (this.decoupled ? 0.01 : 0),
      'weightDecay',
    );
    this.variables = [...variables];
    const zeros = (shape: number[]): tf.Variable => {
      const init = tf.zeros(shape);
      const out = tf.variable(init, false);
      init.dispose();
      return out;
    };
    this.step = zeros([]);
    this.m = variables.map((v) => zeros(v.shape));
    this.v = variables.map((v) => zeros(v.shape));
  }

  /** True for AdamW (decoupled weight decay). */
  protected isDecoupled(): boolean {
    return false;
  }

  /** Number of updates done so far. */
  get updatesDone(): number {
    return this.updates;
  }

  /** The learning rate the last update used (NaN before the first one). */
  get lastLearningRate(): number {
    return this.lastLr;
  }

  /** The learning rate the next update will use. */
  nextLearningRate(): number {
    const lr = typeof this.lr === 'function' ? this.lr(this.updates + 1) : this.lr;
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new RangeError(
        `lr: the schedule gave ${describe(lr)} at step ${this.updates + 1}, expected a finite number >= 0`,
      );
    }
    return lr;
  }

  /**
   * One update of every variable that has a gradient in `grads` (a variable without one keeps
   * its value and moments; the step count is shared, so bias corrections assume every variable
   * gets a gradient each update, as in `fit`). Frees nothing it was given.
   * @param grads gradients by variable (`Map`) or by variable name (`tf.variableGrads`)
   */
  applyGradients(grads: Gradients): void {
    const pairs = this.match(grads);
    const lr = this.nextLearningRate();
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    // Bias corrections in float64 on the host from the host's count of updates (it mirrors
    // `step`, so nothing is read back): 0.999 rounded to float32 would put a 1e-5 relative
    // error into 1 - b2^t.
    const t = this.updates + 1;
    const stepSize = lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    tf.tidy(() => {
      this.step.assign(tf.add(this.step, 1));
      if (pairs.length === 0) return;
      // Every variable at once: the update is elementwise, so running it on the concatenation of
      // all parameters gives the same values as one variable at a time, in ~13 kernels instead
      // of ~13 per variable (a training step has dozens of variables and each kernel call costs
      // more than its arithmetic at these sizes).
      const index = pairs.map(([i]) => i);
      const flat = (ts: tf.Tensor[]): tf.Tensor1D =>
        (ts.length === 1
          ? ts[0].reshape([-1])
          : tf.concat(ts.map((x) => x.reshape([-1])))) as tf.Tensor1D; // each [...] -> [n], concatenated
      let p: tf.Tensor = flat(index.map((i) => this.variables[i]));
      let g: tf.Tensor = flat(pairs.map(([, grad]) => grad));
      if (wd !== 0) {
        if (this.decoupled) p = tf.mul(p, 1 - lr * wd);
        else g = tf.add(g, tf.mul(p, wd));
      }
      const m = tf.add(tf.mul(flat(index.map((i) => this.m[i])), b1), tf.mul(g, 1 - b1));
      const v = tf.add(tf.mul(flat(index.map((i) => this.v[i])), b2), tf.mul(tf.square(g), 1 - b2));
      const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
      const updated = tf.sub(p, tf.mul(stepSize, tf.div(m, denom)));
      const sizes = index.map((i) => this.variables[i].size);
      const pieces = (x: tf.Tensor): tf.Tensor[] => (sizes.length === 1 ? [x] : tf.split(x, sizes)); // [n] -> per variable
      const [ms, vs, ps] = [pieces(m), pieces(v), pieces(updated)];
      index.forEach((i, k) => {
        const shape = this.variables[i].shape;
        this.m[i].assign(ms[k].reshape(shape));
        this.v[i].assign(vs[k].reshape(shape));
        this.variables[i].assign(ps[k].reshape(shape));
      });
    });
    this.updates++;
    this.lastLr = lr;
  }

  /** Frees the moments and the step count (not the variables it updates). */
  dispose(): void {
    for (const t of [this.step, ...this.m, ...this.v]) if (!t.isDisposed) t.dispose();
  }

  /** Pairs (variable index, gradient), checking names and shapes. */
  private match(grads: Gradients): Array<[number, tf.Tensor]> {
    if (grads === null || typeof grads !== 'object') {
      throw new TypeError(
        `grads: expected a Map from variable to gradient or an object by variable name, got ${describe(grads)}`,
      );
    }
    const entries: Array<[number, tf.Tensor, string]> = [];
    if (grads instanceof Map) {
      for (const [v, g] of grads) {
        const i = this.byVariable.get(v);
        if (i === undefined) {
          throw new Error(`grads: the variable ${describe(v)} is not one this optimizer updates`);
        }
        entries.push([i, g, v.name]);
      }
    } else {
      for (const [name, g] of Object.entries(grads)) {
        const i = this.byName.get(name);
        if (i === undefined) {
          throw new Error(`grads: no variable named "${name}" among this optimizer's variables`);
        }
        entries.push([i, g, name]);
      }
    }
    return entries.map(([i, g, name]) => {
      const p = this.variables[i];
      if (!(g instanceof tf.Tensor)) {
        throw new TypeError(`grads["${name}"]: expected a tensor, got ${describe(g)}`);
      }
      if (!tf.util.arraysEqual(g.shape, p.shape)) {
        throw new Error(
          `grads["${name}"]: expected shape ${formatShape(p.shape)} (the variable's), got ${formatShape(g.shape)}`,
        );
      }
      return [i, g];
    });
  }
}

/**
 * AdamW: Adam with decoupled weight decay (`p <- p (1 - lr wd)` before the Adam step, as
 * `torch.optim.AdamW`; weight decay defaults to 0.01).
 */
export class AdamW extends Adam {
  protected override isDecoupled(): boolean {
    return true;
  }
}

/** What `clipByGlobalNorm` returns. */
export interface ClippedGradients<G extends Gradients> {
  /** The gradients scaled by `min(1, maxNorm / (norm + 1e-6))`, keyed like the input. */
  grads: G;
  /** Global norm before clipping, `sqrt(sum of every squared element)`, a scalar tensor. */
  norm: tf.Scalar;
}

/**
 * Scales all gradients together so that their global norm is at most `maxNorm`, as
 * `torch.nn.utils.clip_grad_norm_` does: `norm = sqrt(sum_g ||g||^2)`, then every `g` is
 * multiplied by `min(1, maxNorm / (norm + 1e-6))`. The direction of the update is kept; only
 * its length is capped. Runs on the device (no host read). Returns new tensors (inside
 * `tf.tidy`, or free them yourself) and leaves the inputs alone.
 * @param grads gradients by variable (`Map`) or by name
 * @param maxNorm largest allowed global norm, > 0
 */
export function clipByGlobalNorm<G extends Gradients>(
  grads: G,
  maxNorm: number,
): ClippedGradients<G> {
  if (grads === null || typeof grads !== 'object') {
    throw new TypeError(
      `grads: expected a Map from variable to gradient or an object by name, got ${describe(grads)}`,
    );
  }
  if (typeof maxNorm !== 'number' || !Number.isFinite(maxNorm) || maxNorm <= 0) {
    throw new RangeError(`maxNorm: expected a finite number > 0, got ${describe(maxNorm)}`);
  }
  const list: Array<[unknown, tf.Tensor]> =
    grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
  if (list.length === 0) throw new Error('grads: expected at least one gradient, got none');
  for (const [key, g] of list) {
    if (!(g instanceof tf.Tensor)) {
      const name = key instanceof tf.Variable ? key.name : String(key);
      throw new TypeError(`grads["${name}"]: expected a tensor, got ${describe(g)}`);
    }
  }
  // tf.tidy keeps tensors in arrays and plain objects, not in a Map: return an array.
  const [norm, ...scaled] = tf.tidy(() => {
    const total = tf.sqrt(tf.addN(list.map(([, g]) => tf.sum(tf.square(g))))) as tf.Scalar;
    const scale = tf.minimum(tf.div(maxNorm, tf.add(total, 1e-6)), 1);
    return [total, ...list.map(([, g]) => tf.mul(g, scale))];
  });
  const pairs = list.map(([key], i) => [key, scaled[i]] as const);
  const out = (
    grads instanceof Map
      ? new Map(pairs as ReadonlyArray<readonly [tf.Variable, tf.Tensor]>)
      : Object.fromEntries(pairs)
  ) as G;
  return { grads: out, norm: norm as tf.Scalar };
}
