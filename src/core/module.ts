/**
 * The smallest useful notion of a layer: an object that owns trainable variables.
 *
 * We do not use `tf.layers` for the attention code: the course shows every matrix product, and
 * plain functions over `tf.Variable`s keep the equations and the code one-to-one.
 *
 * Like PyTorch's `nn.Module`, a `Module` finds its own weights: every field that holds a
 * `tf.Variable`, a `Module`, or an array of them is collected, in the order the fields were
 * assigned. No class lists its variables by hand, so a weight cannot be forgotten (a forgotten
 * weight would silently never train). A weight or sub-module reachable by two paths (tied
 * weights, e.g. an embedding shared with the output projection) is counted, trained, saved and
 * disposed once, under the first path that reaches it.
 */
import * as tf from '@tensorflow/tfjs';

/** One row of `Module.parameterTable()` (a type, not an interface, so `showTable` takes it). */
export type ParameterRow = {
  /** Dotted path of the variable, e.g. `encoder.gru.wX`. */
  name: string;
  /** Shape as text, e.g. `[32, 64]`. */
  shape: string;
  /** Number of scalars. */
  parameters: number;
  /** `yes`, or `no` for a frozen (non-trainable) variable. */
  trainable: string;
};

/** Fields a module never walks into: its own mode flag. */
const SKIPPED_FIELDS = new Set(['training']);

function isModuleLike(x: unknown): x is Module {
  return x instanceof Module;
}

/** A part of a model that owns variables, found automatically from its fields. */
export abstract class Module {
  /**
   * `true` in training mode (the default), `false` after `eval()`. Layers whose behaviour differs
   * between the two (dropout) read it; `train()` and `eval()` set it on every sub-module.
   */
  training = true;

  /**
   * Direct sub-modules with their field names (`layers.0` for an array element), in field order.
   * A sub-module reachable twice appears once.
   */
  namedChildren(): Array<[string, Module]> {
    const out: Array<[string, Module]> = [];
    const seen = new Set<Module>();
    this.visitFields((name, value) => {
      if (isModuleLike(value) && !seen.has(value)) {
        seen.add(value);
        out.push([name, value]);
      }
    });
    return out;
  }

  /**
   * Every variable of this module and its sub-modules, with dotted paths (`encoder.gru.wX`), in a
   * stable order: field order, depth first. A tied variable appears once, under its first path.
   * Includes frozen (non-trainable) variables, so a checkpoint holds the whole state.
   */
  namedVariables(): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    const seenVariables = new Set<tf.Variable>();
    const seenModules = new Set<Module>();
    const walk = (module: Module, prefix: string): void => {
      if (seenModules.has(module)) return;
      seenModules.add(module);
      module.visitFields((name, value) => {
        const path = prefix === '' ? name : `${prefix}.${name}`;
        if (value instanceof tf.Variable) {
          if (!seenVariables.has(value)) {
            seenVariables.add(value);
            out.push([path, value]);
          }
        } else if (isModuleLike(value)) {
          walk(value, path);
        }
      });
    };
    walk(this, '');
    return out;
  }

  /** Every trainable variable, including those of sub-modules, each once, in a stable order. */
  variables(): tf.Variable[] {
    return this.namedVariables()
      .map(([, v]) => v)
      .filter((v) => v.trainable);
  }

  /** Total number of trainable scalars (a tied weight counts once). */
  numParameters(): number {
    return this.variables().reduce((n, v) => n + v.size, 0);
  }

  /**
   * One row per variable (name, shape, number of parameters), for `showTable`. The total is
   * `numParameters()`.
   */
  parameterTable(): ParameterRow[] {
    return this.namedVariables().map(([name, v]) => ({
      name,
      shape: `[${v.shape.join(', ')}]`,
      parameters: v.size,
      trainable: v.trainable ? 'yes' : 'no',
    }));
  }

  /** Sets training mode (`true`, the default) or evaluation mode on this module and every sub-module. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') {
      throw new TypeError(`mode: expected true or false, got ${String(mode)}`);
    }
    const seen = new Set<Module>();
    const walk = (module: Module): void => {
      if (seen.has(module)) return;
      seen.add(module);
      module.training = mode;
      for (const [, child] of module.namedChildren()) walk(child);
    };
    walk(this);
    return this;
  }

  /** Evaluation mode: `train(false)`. Dropout becomes the identity. */
  eval(): this {
    return this.train(false);
  }

  /** Frees every variable's memory once (a tied weight too); the module cannot be used afterwards. */
  dispose(): void {
    for (const [, v] of this.namedVariables()) {
      if (!v.isDisposed) v.dispose();
    }
  }

  /**
   * Calls `visit` for each field holding a variable or a module, and for each element of a field
   * holding an array (path `field.i`), in field order.
   */
  private visitFields(visit: (name: string, value: tf.Variable | Module) => void): void {
    for (const key of Object.keys(this)) {
      if (SKIPPED_FIELDS.has(key)) continue;
      const value: unknown = (this as Record<string, unknown>)[key];
      if (value instanceof tf.Variable || isModuleLike(value)) {
        visit(key, value);
      } else if (Array.isArray(value)) {
        value.forEach((item: unknown, i) => {
          if (item instanceof tf.Variable || isModuleLike(item)) visit(`${key}.${i}`, item);
        });
      }
    }
  }
}

/** Creates a trainable variable from an initial tensor (which the variable takes over). */
export function parameter(initial: tf.Tensor): tf.Variable {
  const v = tf.variable(initial, true);
  initial.dispose();
  return v;
}
