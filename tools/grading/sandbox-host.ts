/**
 * The worker thread between the grader's main thread and a sandbox process. Graded tests are
 * synchronous, so the main thread posts a request and blocks in `Atomics.wait`; this thread does
 * the asynchronous part (start the process, write the request, read the reply, enforce the time
 * and memory limits, notice a death), then posts the outcome and wakes the main thread
 * (`host-channel.ts`), one request at a time.
 *
 * Started by `sandbox.ts` only; see there for the request and reply types.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as v8 from 'node:v8';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { replyToMain, type Envelope } from './host-channel';
import { sandboxCommand, type IsolationStatus } from './isolation';
import { frame, FrameReader } from './wire';
import type { HostReply, HostRequest, SandboxLimits, Withheld } from './sandbox';

const { port, signal, isolation } = workerData as {
  port: MessagePort;
  signal: SharedArrayBuffer;
  isolation: IsolationStatus;
};
const flag = new Int32Array(signal);

/** Resident memory of `pid` and all its descendants, in kB (0 where /proc cannot tell). */
function treeRssKb(pid: number, depth = 0): number {
  if (depth > 8) return 0;
  let kb = 0;
  try {
    kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const child of children ? children.split(/\s+/) : [])
      kb += treeRssKb(Number(child), depth + 1);
  } catch {
    // not Linux, or already gone
  }
  return kb;
}

/** Characters of a thrown error's message (and name) kept from a sandbox's reply. */
export const MAX_ERROR_CHARS = 2000;

/** `text` cut to `max` characters, saying how much was cut. */
function bounded(text: string, max: number): string {
  return text.length <= max
    ? text
    : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}

/**
 * A reply frame checked against what the sandbox may say, as a fresh object holding only known
 * fields: `{id, ready}`, `{id, exports}`, `{id, value, leaked}` or `{id, error}`. Error texts are
 * cut to `MAX_ERROR_CHARS`; values are checked later by `wire.decode`. A string says what is wrong.
 */
function checkReply(message: unknown): Record<string, unknown> | string {
  if (message === null || typeof message !== 'object' || Array.isArray(message))
    return 'a reply that is not an object';
  const m = message as Record<string, unknown>;
  if (!Number.isSafeInteger(m.id) || (m.id as number) < 0) return 'a reply without a valid id';
  const known = new Set(['id', 'ready', 'backend', 'exports', 'value', 'leaked', 'error']);
  const extra = Object.keys(m).filter((k) => !known.has(k));
  if (extra.length > 0) return `a reply with unknown fields (${bounded(extra.join(', '), 100)})`;
  const out: Record<string, unknown> = { id: m.id };
  if (m.ready === true) return { ...out, ready: true };
  if (m.error !== undefined) {
    const e = m.error as Record<string, unknown> | null;
    if (e === null || typeof e !== 'object') return 'an error reply without an error';
    const error: Record<string, unknown> = {
      name: bounded(typeof e.name === 'string' ? e.name : '', 100),
      message: bounded(typeof e.message === 'string' ? e.message : '', MAX_ERROR_CHARS),
    };
    const ni = e.notImplemented as Record<string, unknown> | undefined;
    if (
      ni &&
      typeof ni === 'object' &&
      typeof ni.exercise === 'string' &&
      typeof ni.file === 'string'
    )
      error.notImplemented = { exercise: bounded(ni.exercise, 200), file: bounded(ni.file, 300) };
    return { ...out, error };
  }
  if (m.exports !== undefined) {
    const exports = m.exports as Record<string, unknown> | null;
    if (exports === null || typeof exports !== 'object') return 'exports that are not an object';
    const names = Object.keys(exports);
    if (names.length > 1000) return `${names.length} exports (at most 1000)`;
    const checked: Record<string, unknown> = {};
    for (const name of names) {
      const info = exports[name] as Record<string, unknown> | null;
      if (name.length > 200 || info === null || typeof info !== 'object')
        return 'a malformed export';
      const entry =
        info.kind === 'function'
          ? { kind: 'function' }
          : info.kind === 'value'
            ? { kind: 'value', value: info.value }
            : null;
      if (!entry) return 'a malformed export';
      Object.defineProperty(checked, name, { value: entry, enumerable: true });
    }
    return { ...out, exports: checked };
  }
  if (!('value' in m)) return 'a reply with neither a value, exports nor an error';
  const leaked = m.leaked;
  if (!(Number.isSafeInteger(leaked) && (leaked as number) >= 0))
    return `a leak count that is not a count (${bounded(String(leaked), 40)})`;
  return { ...out, value: m.value, leaked };
}

/** Why a sandbox process ended, in words for the learner. */
function deathMessage(
  code: number | null,
  sig: NodeJS.Signals | null,
  killedFor: string | null,
  stderr: string,
  limits: SandboxLimits,
): string {
  if (killedFor) return killedFor;
  if (/heap out of memory|Reached heap limit|Allocation failed/i.test(stderr)) {
    return `ran out of memory (the limit is ${limits.heapMb} MB)`;
  }
  // Under bubblewrap the sandbox's death by a signal arrives as exit code 128 + signal.
  const signal =
    sig ??
    (isolation.isolated && code !== null && code > 128 && code < 160
      ? (Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0] ?? null)
      : null);
  switch (signal) {
    case null:
      break;
    case 'SIGXFSZ':
      return 'tried to write a file (the sandbox may not write any): the process was stopped';
    case 'SIGXCPU':
      return `used more than ${limits.cpuSeconds} s of CPU time: the process was stopped`;
    case 'SIGTRAP':
    case 'SIGABRT':
    case 'SIGSEGV':
    case 'SIGILL':
    case 'SIGBUS':
    case 'SIGSYS':
      return (
        `crashed the Node process (${signal}); changing V8's flags or internals from an answer ` +
        'does that'
      );
    default:
      return `was killed by ${signal}`;
  }
  // Node ends with status 1 and prints the error when something throws outside any call (a
  // timer, an event handler): say that, with the error's first line, not "process.exit()".
  const uncaught = /^(?:Uncaught )?(\w*(?:Error|Exception)\b.*)$/m.exec(stderr);
  if (code === 1 && uncaught) {
    return (
      `threw outside a call (in a timer, callback or promise), which ends the process: ` +
      uncaught[1].slice(0, 300)
    );
  }
  return `stopped the process (exit code ${code}): an answer must return, not call process.exit()`;
}

/** One sandbox process, running one answer file. */
class Sandbox {
  private child: ChildProcess;
  private waiting: { id: number; done: (message: Record<string, unknown>) => void } | null = null;
  private killedFor: string | null = null;
  private stderr = '';
  private ended: string | null = null;
  private readonly exited: Promise<string>;
  private watchdog: NodeJS.Timeout;
  private nextId = 1;

  constructor(
    dir: string,
    private readonly limits: SandboxLimits,
  ) {
    // Under bubblewrap when the OS allows it (isolation.ts), else Node's permission model only.
    const command = sandboxCommand(dir, limits, isolation);
    this.child = spawn(command.command, command.args, {
      cwd: command.cwd,
      env: command.env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    const reader = new FrameReader();
    this.child.stdio[3]!.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (error) {
        this.kill(`sent ${(error as Error).message}`);
        return;
      }
      for (const bytes of frames) {
        let raw: unknown;
        try {
          raw = v8.deserialize(bytes);
        } catch {
          this.kill("sent bytes that are not a reply on the grader's channel");
          return;
        }
        const message = checkReply(raw);
        if (typeof message === 'string') {
          this.kill(`sent ${message} on the grader's channel`);
          return;
        }
        if (this.waiting && message.id === this.waiting.id) {
          const { done } = this.waiting;
          this.waiting = null;
          done(message);
        }
      }
    });
    // Printed output of the answer is not shown: it could only mislead (fake test results).
    this.child.stdout!.resume();
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-8000);
    });
    this.child.stdin!.on('error', () => {}); // EPIPE when it died; the exit handler reports it
    this.exited = new Promise((ok) => {
      this.child.once('exit', (code, sig) => {
        clearInterval(this.watchdog);
        this.ended = deathMessage(code, sig, this.killedFor, this.stderr, limits);
        ok(this.ended);
      });
      this.child.once('error', (error) => {
        clearInterval(this.watchdog);
        this.ended = `could not start: ${error.message}`;
        ok(this.ended);
      });
    });
    // The heap cap does not cover typed arrays or wasm memory: watch the resident size too.
    // Measured from outside, over the whole process tree (prlimit, bwrap, node).
    this.watchdog = setInterval(() => {
      if (this.child.pid === undefined) return;
      const kb = treeRssKb(this.child.pid);
      if (kb > limits.rssMb * 1024) this.kill(`used more than ${limits.rssMb} MB of memory`);
    }, 100);
  }

  get alive(): boolean {
    return this.ended === null;
  }

  kill(reason: string): void {
    if (this.ended !== null) return;
    this.killedFor ??= reason;
    this.child.kill('SIGKILL');
  }

  /** Waits for a message with `id` (or the `ready` message), the process's end, or the timeout. */
  private async exchange(
    request: Record<string, unknown> | null,
    timeoutMs: number,
  ): Promise<{ message: Record<string, unknown> } | { failure: string }> {
    if (!this.alive) return { failure: this.ended! };
    const id = request ? this.nextId++ : 0;
    const answered = new Promise<Record<string, unknown>>((done) => {
      this.waiting = { id, done };
    });
    if (request) this.child.stdin!.write(frame(v8.serialize({ ...request, id })));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((ok) => {
      timer = setTimeout(() => ok('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([answered, this.exited, timedOut]);
    clearTimeout(timer);
    this.waiting = null;
    if (outcome === 'timeout') {
      this.kill(`timed out after ${Math.round(timeoutMs / 100) / 10} s (an infinite loop?)`);
      return { failure: await this.exited };
    }
    if (typeof outcome === 'string') return { failure: outcome };
    return { message: outcome };
  }

  async start(file: string, withheld: Withheld): Promise<HostReply> {
    const ready = await this.exchange(null, this.limits.startMs);
    if ('failure' in ready)
      return { kind: 'crash', message: `the sandbox could not start: it ${ready.failure}` };
    const loaded = await this.exchange({ op: 'load', file, withheld }, this.limits.loadMs);
    if ('failure' in loaded)
      return { kind: 'crash', message: `while loading ${file}, your code ${loaded.failure}` };
    if (loaded.message.error) return { kind: 'thrown', error: loaded.message.error };
    return { kind: 'loaded', exports: loaded.message.exports };
  }

  async call(name: string, args: unknown, timeoutMs: number): Promise<HostReply> {
    const done = await this.exchange({ op: 'call', name, args }, timeoutMs);
    if ('failure' in done) return { kind: 'crash', message: `your code ${done.failure}` };
    if (done.message.error) return { kind: 'thrown', error: done.message.error };
    return { kind: 'returned', value: done.message.value, leaked: done.message.leaked };
  }

  async stop(): Promise<void> {
    this.kill('stopped');
    await this.exited;
  }
}

let current: Sandbox | null = null;
let session: { dir: string; file: string; limits: SandboxLimits; withheld: Withheld } | null = null;

async function serve(request: HostRequest): Promise<HostReply> {
  switch (request.op) {
    case 'open': {
      await current?.stop();
      session = {
        dir: request.dir,
        file: request.file,
        limits: request.limits,
        withheld: request.withheld,
      };
      current = new Sandbox(request.dir, request.limits);
      return current.start(request.file, request.withheld);
    }
    case 'call': {
      if (!session) return { kind: 'crash', message: 'no answer file is open' };
      if (!current?.alive) {
        // The last call killed it: a fresh process for this call, so later tests still count.
        current = new Sandbox(session.dir, session.limits);
        const restarted = await current.start(session.file, session.withheld);
        if (restarted.kind !== 'loaded') return restarted;
      }
      return current.call(request.name, request.args, request.timeoutMs);
    }
    case 'close': {
      await current?.stop();
      current = null;
      session = null;
      return { kind: 'closed' };
    }
  }
}

/** A reply saying the grader failed, not the answer. */
function graderFailure(error: unknown): HostReply {
  const why = error instanceof Error ? error.message : String(error);
  return { kind: 'crash', message: `the grader itself failed (not your code): ${why}` };
}

/** Serves one request and sends exactly one reply to it, whatever fails on the way. */
async function handle({ seq, body }: Envelope<HostRequest>): Promise<void> {
  let message: HostReply;
  try {
    message = await serve(body);
  } catch (error) {
    message = graderFailure(error);
  }
  try {
    replyToMain(port, flag, seq, message);
  } catch (error) {
    replyToMain(port, flag, seq, graderFailure(error)); // a reply that could not be copied
  }
}

// One request at a time, in order: a request the main thread stopped waiting for still ends
// before the next one starts, so two requests never share (or kill) one sandbox process.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (envelope: Envelope<HostRequest>) => {
  queue = queue.then(() => handle(envelope)).catch(() => {});
});
