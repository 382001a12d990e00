/**
 * Surviving Kernel > Interrupt.
 *
 * tslab runs a cell's synchronous code with `vm.runInThisContext(code, { breakOnSigint: true })`.
 * An interrupt then *terminates* the script: V8 unwinds the stack without running any `catch` or
 * `finally`. A training loop stopped that way leaves TensorFlow.js's engine half-way: the scopes
 * of the `tf.tidy` calls it was in stay open (every later tensor is tracked by them and never
 * freed), `gradientDepth` stays above 0 (the old gradient tape is reused and never cleared), and
 * when the interrupt lands inside a kernel `kernelDepth` stays above 0, which turns the gradient
 * tape off for good: the next `minimize` fails with "Cannot find a connection between any
 * variable and the result of the loss function". The trainer's variable and optimiser leak too.
 *
 * Nothing can run at the moment of the interrupt, so the repair happens on the next entry: a
 * trainer opens a run with `beginRun`, registers what it allocates, and ends the run in `finally`.
 * A synchronous run can never outlive the task that started it, so a run still open in a later
 * task was terminated; the next `beginRun` frees its resources and unwinds the engine to the state
 * it had when that run began. `recoverFromInterrupt` does the same for any other interrupted code.
 */
import * as tf from '@tensorflow/tfjs';
import { resetOpDepth } from '../core/op';
import { resetSuspendedChecks } from '../core/shapes';

let task: object | null = null;

/**
 * A token for the current task of the event loop: the same object for all synchronous code of
 * one task (a whole synchronous cell), a new one after the event loop has turned (as it does
 * after an interrupted cell and before the next cell runs).
 */
export function currentTask(): object {
  if (task === null) {
    const token = {};
    task = token;
    setImmediate(() => {
      if (task === token) task = null;
    }).unref();
  }
  return task;
}

/** The engine's nesting state, as `beginRun` records it and `recoverFromInterrupt` restores it. */
export interface EngineDepths {
  /** Open `tf.tidy` / `startScope` scopes. */
  scopes: number;
  /** Nested gradient computations (`tf.grad`, `minimize`) in progress. */
  gradientDepth: number;
  /** Nested kernel calls in progress. */
  kernelDepth: number;
}

/** What `recoverFromInterrupt` repaired. */
export interface EngineRepair {
  /** Scopes that were left open and are now closed. */
  scopesClosed: number;
  /** Tensors freed: those tracked by the closed scopes, the gradient tape's, registered ones. */
  tensorsFreed: number;
  /** True when a gradient computation or a kernel call was left half-way and is now reset. */
  tapeReset: boolean;
}

interface EngineStateView {
  scopeStack: unknown[];
  gradientDepth: number;
  kernelDepth: number;
  activeTape: { saved?: tf.Tensor[] }[] | null;
  numDataMovesStack: number[];
}

function engineState(): EngineStateView {
  return tf.engine().state as unknown as EngineStateView;
}

/** The engine's current nesting state (all zeros at the top level of a cell). */
export function engineDepths(): EngineDepths {
  const s = engineState();
  return {
    scopes: s.scopeStack.length,
    gradientDepth: s.gradientDepth,
    kernelDepth: s.kernelDepth,
  };
}

function checkDepth(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`to.${name}: expected an integer >= 0, got ${String(value)}`);
  }
  return value;
}

/**
 * Repairs TensorFlow.js after an interrupted cell: closes the `tf.tidy` scopes it left open
 * (freeing the tensors they track), and resets a gradient computation or kernel call left
 * half-way (freeing the tensors the gradient tape saved). Call it at the top level of a cell,
 * not inside `tf.tidy`: by default it unwinds everything. `ah` trainers call it for you.
 * @param to the nesting state to unwind to; defaults to the top level (all zeros). It must not
 *   be deeper than the current state.
 * @returns what was repaired (all zeros when nothing was left open)
 */
export function recoverFromInterrupt(
  to: EngineDepths = { scopes: 0, gradientDepth: 0, kernelDepth: 0 },
): EngineRepair {
  return unwind(to, false);
}

/**
 * `recoverFromInterrupt`; with `disposeKept`, also frees the `tf.keep`-ed tensors of the closed
 * scopes (right for a run that owns everything it made, such as a tensor tfjs kept to save it on
 * the gradient tape and was interrupted before it got there).
 */
function unwind(to: EngineDepths, disposeKept: boolean): EngineRepair {
  if (to === null || typeof to !== 'object') {
    throw new TypeError(`to: expected { scopes, gradientDepth, kernelDepth }, got ${String(to)}`);
  }
  const target = {
    scopes: checkDepth(to.scopes, 'scopes'),
    gradientDepth: checkDepth(to.gradientDepth, 'gradientDepth'),
    kernelDepth: checkDepth(to.kernelDepth, 'kernelDepth'),
  };
  const s = engineState();
  const now = engineDepths();
  for (const key of ['scopes', 'gradientDepth', 'kernelDepth'] as const) {
    if (target[key] > now[key]) {
      throw new RangeError(
        `to.${key}: expected at most the current ${key} (${now[key]}), got ${target[key]}`,
      );
    }
  }
  const before = tf.memory().numTensors;
  let scopesClosed = 0;
  while (s.scopeStack.length > target.scopes) {
    if (disposeKept) {
      const scope = s.scopeStack[s.scopeStack.length - 1] as { track: tf.Tensor[] };
      for (const t of scope.track) if (t.kept) t.dispose();
    }
    tf.engine().endScope();
    scopesClosed++;
  }
  // Outside any gradient computation the tape must be gone; an interrupt in the backward pass
  // can leave it behind with gradientDepth already 0.
  const staleTape = target.gradientDepth === 0 && s.activeTape != null;
  const tapeReset =
    staleTape || s.gradientDepth > target.gradientDepth || s.kernelDepth > target.kernelDepth;
  s.kernelDepth = target.kernelDepth;
  s.gradientDepth = target.gradientDepth;
  if (staleTape) {
    // What tfjs does when a top-level gradient computation ends.
    for (const node of s.activeTape!) for (const t of node.saved ?? []) t.dispose();
    s.activeTape = null;
  }
  if (tapeReset) s.numDataMovesStack = [];
  if (target.scopes === 0 && target.gradientDepth === 0 && target.kernelDepth === 0) {
    // At the top level no library call is running: forget the ones a termination cut short.
    resetOpDepth();
    resetSuspendedChecks();
  }
  return { scopesClosed, tensorsFreed: before - tf.memory().numTensors, tapeReset };
}

/** Something a run allocates and must free, such as a `tf.Variable` or an optimiser. */
export interface Disposable {
  dispose(): void;
}

interface RunRecord {
  name: string;
  depths: EngineDepths;
  task: object;
  resources: Disposable[];
}

const openRuns: RunRecord[] = [];

/**
 * A trainer's run, from `beginRun`: register variables and optimisers with `track`, call `end`
 * in `finally`. The run is a scope (like `tf.tidy`): tensors made during it and not returned
 * through `end` are freed when it ends, or by the next run if it is interrupted.
 */
export interface Run {
  /** Registers `x` (a variable, an optimiser) to be freed if this run is interrupted; returns it. */
  track<T extends Disposable>(x: T): T;
  /** Ends the run (call it in `finally`, after freeing what it `track`ed); keeps `result`. */
  end(result?: tf.TensorContainer): void;
}

/**
 * Starts a synchronous training run. Runs that are still open from an earlier task were
 * terminated by an interrupt: their tracked resources are freed and the engine is unwound to the
 * state it had when the oldest of them began, with one line on stderr saying so.
 * @param name who runs, e.g. 'fitKernelWidth' (used in the message)
 */
export function beginRun(name: string): Run {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`name: expected a non-empty string, got ${String(name)}`);
  }
  const now = currentTask();
  const stale = openRuns.filter((r) => r.task !== now);
  if (stale.length > 0) {
    const before = tf.memory().numTensors;
    for (const r of [...stale].reverse()) {
      for (const x of r.resources.reverse()) x.dispose();
      openRuns.splice(openRuns.indexOf(r), 1);
    }
    const resourcesFreed = before - tf.memory().numTensors;
    const current = engineDepths();
    const { scopes, gradientDepth, kernelDepth } = stale[0].depths;
    const repair = unwind(
      {
        scopes: Math.min(scopes, current.scopes),
        gradientDepth: Math.min(gradientDepth, current.gradientDepth),
        kernelDepth: Math.min(kernelDepth, current.kernelDepth),
      },
      true,
    );
    process.stderr.write(
      `${name}: cleaned up after an interrupted ${stale.map((r) => r.name).join(', ')} ` +
        `(${repair.scopesClosed} open scopes closed, ` +
        `${repair.tensorsFreed + resourcesFreed} leaked tensors freed)\n`,
    );
  }
  const record: RunRecord = { name, depths: engineDepths(), task: now, resources: [] };
  openRuns.push(record);
  // The run's own scope catches tensors made outside any tf.tidy (an optimiser's gradients
  // between computing and applying them), which an interrupt would otherwise orphan.
  tf.engine().startScope(`run ${name}`);
  return {
    track: (x) => {
      record.resources.push(x);
      return x;
    },
    end: (result) => {
      const i = openRuns.indexOf(record);
      if (i < 0) return;
      openRuns.splice(i, 1);
      const s = engineState();
      if (s.scopeStack.length === record.depths.scopes + 1) tf.engine().endScope(result);
    },
  };
}
