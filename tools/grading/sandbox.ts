/**
 * Running an answer file in a sandbox process, seen from the grader's main thread, synchronously:
 * graded tests call `answers.fn(...)` and get a value back, as if the file were loaded here.
 *
 * The answer module a graded test receives is a stand-in: each exported function sends its
 * arguments to the sandbox (`wire.encode`), blocks until the reply or the time limit, and rebuilds
 * the result here (`wire.decode`), so every check runs in the grader's process on data the
 * answer cannot reach. A thrown error is rebuilt as the same class (RangeError stays
 * RangeError, a stub's NotImplementedError stays one); a timeout or a dead process fails the call
 * with a `Feedback` saying what happened, and the next call gets a fresh process.
 */
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { NotImplementedError } from '../../src/course/exercise';
import { Feedback } from './framework';
import { MainEnd } from './host-channel';
import { isolationStatus, type IsolationStatus } from './isolation';
import { decode, encode, WIRE_LIMITS } from './wire';

/** Time and memory limits of a sandbox process. */
export interface SandboxLimits {
  /** One call of an exported function, in ms. Defaults to 10 000. */
  callMs: number;
  /** Starting the process (tfjs and its backend), in ms. Defaults to 20 000. */
  startMs: number;
  /** Loading the answer file (its top-level code), in ms. Defaults to 10 000. */
  loadMs: number;
  /** V8 heap cap (`--max-old-space-size`), in MB. Defaults to 512. */
  heapMb: number;
  /** Resident memory cap (typed arrays and wasm are outside the heap), in MB. Defaults to 1024. */
  rssMb: number;
  /** CPU time of one sandbox process (`prlimit --cpu`, OS isolation only), in s. Defaults to 300. */
  cpuSeconds: number;
}

/** The default `SandboxLimits`. */
export const SANDBOX_LIMITS: SandboxLimits = {
  callMs: 10_000,
  startMs: 20_000,
  loadMs: 10_000,
  heapMb: 512,
  rssMb: 1024,
  cpuSeconds: 300,
};

/** What the main thread asks the host thread. */
export type HostRequest =
  | {
      op: 'open';
      dir: string;
      file: string;
      limits: SandboxLimits;
      /** Library exports replaced by stubs while this file is graded (see `ExerciseSpec`). */
      withheld: Withheld;
    }
  | { op: 'call'; name: string; args: unknown; timeoutMs: number }
  | { op: 'close' };

/** Library exports the answer may not use, and the exercise that withholds them. */
export interface Withheld {
  exercise: string;
  names: string[];
}

/** A thrown value, as the sandbox describes it. */
export interface ThrownInfo {
  name: string;
  message: string;
  notImplemented?: { exercise: string; file: string };
}

/** What the host thread answers. */
export type HostReply =
  | { kind: 'loaded'; exports: unknown }
  | { kind: 'returned'; value: unknown; leaked: unknown }
  | { kind: 'thrown'; error: unknown }
  | { kind: 'crash'; message: string }
  | { kind: 'closed' };

/** The answer file could not be loaded: why, for every test of the exercise. */
export interface OpenFailure {
  failure: string;
}

const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  Error,
  RangeError,
  TypeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Rebuilds what the answer threw, so that graded tests can check its class. */
function rethrown(info: unknown): Error {
  const { name, message, notImplemented } = (info ?? {}) as Partial<ThrownInfo>;
  // The host thread cut it already; cut again here, since this is what reaches every report.
  const text = typeof message === 'string' ? message.slice(0, 2100) : '';
  if (
    notImplemented &&
    typeof notImplemented.exercise === 'string' &&
    typeof notImplemented.file === 'string'
  ) {
    return new NotImplementedError(notImplemented.exercise, notImplemented.file);
  }
  const Class =
    typeof name === 'string' && Object.hasOwn(ERROR_CLASSES, name) ? ERROR_CLASSES[name] : Error;
  const error = new Class(text);
  if (typeof name === 'string' && !Object.hasOwn(ERROR_CLASSES, name))
    error.name = name || 'a non-Error value';
  return error;
}

/**
 * One worker thread that runs sandbox processes for one submission, one answer file at a time.
 * Synchronous: each method blocks until the sandbox answers or its time limit passes.
 */
export class SandboxSession {
  private readonly worker: Worker;
  private readonly channel: MainEnd<HostRequest, HostReply>;
  private readonly limits: SandboxLimits;
  private closed = false;
  /** How this session's sandboxes are isolated (see `isolation.ts`). */
  readonly isolation: IsolationStatus;

  constructor(limits: Partial<SandboxLimits> = {}, isolation: IsolationStatus = isolationStatus()) {
    this.isolation = isolation;
    this.limits = { ...SANDBOX_LIMITS, ...limits };
    for (const [key, value] of Object.entries(this.limits)) {
      if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
        throw new RangeError(`SandboxSession: limit ${key} must be a number > 0, got ${value}`);
      }
    }
    const signal = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    const host = path.join(__dirname, 'sandbox-host.ts');
    this.worker = new Worker(
      `require('tsx/cjs/api').register(); require(${JSON.stringify(host)});`,
      { eval: true, workerData: { port: port2, signal, isolation }, transferList: [port2] },
    );
    this.worker.unref();
    this.channel = new MainEnd((m) => this.worker.postMessage(m), port1, new Int32Array(signal));
  }

  private ask(request: HostRequest, budgetMs: number): HostReply {
    if (this.closed) throw new Error('SandboxSession: already closed');
    // The host thread enforces every limit; this wait only guards against a bug in the host.
    const waitMs = budgetMs + 30_000;
    const reply = this.channel.request(request, waitMs);
    if (!reply)
      throw new Error(`sandbox host did not answer a ${request.op} request within ${waitMs} ms`);
    return reply;
  }

  /**
   * Starts a fresh sandbox process in `dir` (made by `prepareSubmission`) and loads
   * `exercises/<file>` there. Returns the answer module to hand to graded tests, or why loading
   * failed. `deadline` (a `Date.now()` value) caps every later call. The library exports in
   * `withheld` are replaced, in the sandbox's copy of the library, by functions that throw.
   */
  open(
    dir: string,
    file: string,
    deadline = Infinity,
    withheld: Withheld = { exercise: '', names: [] },
  ): { module: Record<string, unknown> } | OpenFailure {
    const l = this.limits;
    const reply = this.ask({ op: 'open', dir, file, limits: l, withheld }, l.startMs + l.loadMs);
    if (reply.kind === 'crash') return { failure: reply.message };
    if (reply.kind === 'thrown') {
      const error = rethrown(reply.error);
      return { failure: `could not load ${file}: your code threw ${error.name}: ${error.message}` };
    }
    if (reply.kind !== 'loaded') return { failure: `unexpected sandbox reply ${reply.kind}` };
    try {
      return { module: this.answerModule(reply.exports, deadline) };
    } catch (error) {
      return { failure: `could not load ${file}: ${(error as Error).message}` };
    }
  }

  /** The stand-in module: functions that call the sandbox, values decoded once. */
  private answerModule(exports: unknown, deadline: number): Record<string, unknown> {
    const module: Record<string, unknown> = {};
    if (exports === null || typeof exports !== 'object') return module;
    for (const [name, info] of Object.entries(exports as Record<string, unknown>)) {
      if (name === '__proto__' || info === null || typeof info !== 'object') continue;
      const { kind, value } = info as { kind?: unknown; value?: unknown };
      if (kind === 'function') {
        module[name] = (...args: unknown[]) => this.call(name, args, deadline);
        continue;
      }
      // Checked now (a malformed value fails the load), but rebuilt on each read, inside the
      // graded test's tf.tidy: an exported tensor must not stay allocated in the grader.
      decode(value, { check: true });
      Object.defineProperty(module, name, { get: () => decode(value), enumerable: true });
    }
    return module;
  }

  private call(name: string, args: unknown[], deadline: number): unknown {
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Feedback(`not run: the time limit for the whole submission was used up`);
    const timeoutMs = Math.min(this.limits.callMs, left);
    const reply = this.ask(
      { op: 'call', name, args: encode(args, WIRE_LIMITS, true), timeoutMs },
      timeoutMs + this.limits.startMs + this.limits.loadMs,
    );
    if (reply.kind === 'crash') throw new Feedback(`${name}(...): ${reply.message}`);
    if (reply.kind === 'thrown') throw rethrown(reply.error);
    if (reply.kind !== 'returned')
      throw new Feedback(`${name}(...): unexpected sandbox reply ${reply.kind}`);
    const value = decode(reply.value);
    // Tensors the call left behind in the sandbox are mirrored here, so that a graded test's
    // tf.memory() check sees them; they are freed with the test's tf.tidy.
    const leaked =
      typeof reply.leaked === 'number' && reply.leaked > 0 ? Math.min(reply.leaked, 1000) : 0;
    for (let i = 0; i < leaked; i++) tf.scalar(0);
    return value;
  }

  /** Stops the sandbox process and the host thread. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    try {
      this.ask({ op: 'close' }, 5_000);
    } finally {
      this.closed = true;
      void this.worker.terminate();
    }
  }
}
