/**
 * The smallest useful notion of a layer: an object that owns trainable variables.
 *
 * We do not use `tf.layers` for the attention code: the course shows every matrix product, and
 * plain functions over `tf.Variable`s keep the equations and the code one-to-one.
 */
import * as tf from '@tensorflow/tfjs';

/** A part of a model that owns trainable variables. */
export abstract class Module {
  /** Every trainable variable, including those of sub-modules, in a stable order. */
  abstract variables(): tf.Variable[];

  /** Total number of trainable scalars. */
  numParameters(): number {
    return this.variables().reduce((n, v) => n + v.size, 0);
  }

  /** Frees the variables' memory; the module cannot be used afterwards. */
  dispose(): void {
    for (const v of this.variables()) v.dispose();
  }
}

/** Creates a trainable variable from an initial tensor (which the variable takes over). */
export function parameter(initial: tf.Tensor): tf.Variable {
  const v = tf.variable(initial, true);
  initial.dispose();
  return v;
}
