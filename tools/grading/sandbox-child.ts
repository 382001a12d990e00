/**
 * The sandbox process: loads ONE answer file of a submission and calls its exports on request.
 * It is never run from the repository: `prepare.ts` transpiles it, with `src/` and the
 * submission, into a private temporary folder, and `sandbox-host.ts` starts it there under
 * Node's permission model (read access to that folder and node_modules only, no writes, no child
 * processes, no workers) with a heap cap.
 *
 * Nothing here decides a score. Requests come on stdin, replies go out on fd 3, both as
 * length-prefixed `v8.serialize` frames. A reply is data: the value the export returned (tensors
 * as shape, dtype and values), the error it threw, and how many tensors the call left behind.
 * Student code runs in this process and may patch anything here; the grader expects that, and
 * treats whatever arrives as a claim to check, never as a verdict.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/backend';
import { decode, encode, frame, FrameReader, libraryFunction, tensorsIn } from './wire';

/** The sandbox folder: `<dir>/tools/grading/sandbox-child.js` -> `<dir>`. */
const SANDBOX = path.resolve(__dirname, '..', '..');

// Taken before any answer loads, so that patching tf.memory, v8 or JSON in an answer does not
// change how this process counts tensors or writes replies.
const serialize = v8.serialize;
const deserialize = v8.deserialize;
const engine = tf.engine();
// The engine's own count, read directly: replacing tf.memory, engine.memory or the backend's
// memory report in an answer changes nothing here. Replacing the state object itself is
// detected (the engine would then count into the answer's object).
const state = engine.state;
const numTensors = (): number => {
  if (engine.state !== state) {
    throw new Error("your code replaced tfjs's engine state: its tensors cannot be counted");
  }
  return state.numTensors;
};

/** What the host asks. */
type Request =
  | { id: number; op: 'load'; file: string; withheld?: { exercise: string; names: string[] } }
  | { id: number; op: 'call'; name: string; args: unknown[] };

/** What a thrown value looked like, as data. */
interface ThrownInfo {
  name: string;
  message: string;
  notImplemented?: { exercise: string; file: string };
}

function describeThrown(error: unknown): ThrownInfo {
  try {
    if (error instanceof Error) {
      const info: ThrownInfo = {
        name: String(error.name).slice(0, 100),
        message: String(error.message).slice(0, 2000),
      };
      const { exercise, file } = error as Error & { exercise?: unknown; file?: unknown };
      if (
        info.name === 'NotImplementedError' &&
        typeof exercise === 'string' &&
        typeof file === 'string'
      ) {
        info.notImplemented = { exercise, file };
      }
      return info;
    }
    return { name: '', message: String(error).slice(0, 2000) };
  } catch {
    return { name: '', message: 'a value that cannot be printed' };
  }
}

/**
 * Replaces the library exports `names` by functions that throw, in this sandbox's copy of the
 * library, before the answer loads: an answer cannot earn points by calling the course's own
 * implementation of the function under test. Patched where each is defined (a plain property of
 * its module's exports); the library's index and every other importer read it through there.
 */
function withhold(exercise: string, names: string[]): void {
  if (names.length === 0) return;
  const left = new Set(names);
  const modules: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.js')) modules.push(full);
    }
  };
  walk(path.join(SANDBOX, 'src'));
  for (const file of modules) {
    const mod = require(file) as Record<string, unknown>;
    for (const name of names) {
      const own = Object.getOwnPropertyDescriptor(mod, name);
      if (!own || !('value' in own) || typeof own.value !== 'function') continue;
      // A function, not an arrow: `new GRUCell(...)` of a withheld class throws this too.
      mod[name] = function withheld(): never {
        throw new Error(`the library's ${name} is not available while grading ${exercise}`);
      };
      left.delete(name);
    }
  }
  if (left.size > 0)
    throw new Error(`the library has no function ${[...left].join(', ')} to withhold`);
}

async function main(): Promise<void> {
  await initBackend({ log: false });
  const out = new net.Socket({ fd: 3, readable: false, writable: true });
  const send = (message: object): void => {
    out.write(frame(serialize(message)));
  };
  let answers: Record<string, unknown> = {};

  const handle = (request: Request): object => {
    if (request.op === 'load') {
      if (request.withheld) withhold(request.withheld.exercise, request.withheld.names);
      const file = path.join(SANDBOX, 'exercises', request.file.replace(/\.ts$/, '.js'));
      answers = require(file) as Record<string, unknown>;
      const exports: Record<string, { kind: 'function' } | { kind: 'value'; value: unknown }> = {};
      for (const name of Object.keys(answers)) {
        const value = answers[name];
        exports[name] =
          typeof value === 'function'
            ? { kind: 'function' }
            : { kind: 'value', value: encode(value) };
      }
      return { id: request.id, exports };
    }
    const fn = answers[request.name];
    if (typeof fn !== 'function') {
      throw new TypeError(`${request.name} is not an exported function`);
    }
    const args = decode(request.args, {
      library: (ref) => libraryFunction(ref.module, ref.name),
    }) as unknown[];
    const inputs = tensorsIn(args);
    const before = numTensors();
    let value: unknown;
    try {
      value = fn(...args);
    } catch (error) {
      tf.dispose([...inputs]);
      throw error;
    }
    const results = [...tensorsIn(value)].filter((t) => !inputs.has(t));
    const leaked = numTensors() - before - results.filter((t) => !t.isDisposed).length;
    const encoded = encode(value);
    tf.dispose([...inputs, ...results]);
    return { id: request.id, value: encoded, leaked };
  };

  const reader = new FrameReader();
  process.stdin.on('data', (chunk: Buffer) => {
    for (const bytes of reader.push(chunk)) {
      const request = deserialize(bytes) as Request;
      try {
        send(handle(request));
      } catch (error) {
        send({ id: request.id, error: describeThrown(error) });
      }
    }
  });
  // The grader closing the pipe (it finished, or died) ends this process too: no orphans.
  process.stdin.on('end', () => process.exit(0));
  // A promise the answer rejected and never handled (after returning its value, say) would end
  // the process before its reply left: the reply still goes out; the rejection does not count.
  // (The wasm backend installs a listener that rethrows it, ending the process with status 7.)
  process.removeAllListeners('unhandledRejection');
  process.removeAllListeners('uncaughtException');
  process.on('unhandledRejection', () => {});
  send({ id: 0, ready: true, backend: tf.getBackend() });
}

main().catch((error: unknown) => {
  process.stderr.write(`sandbox: ${describeThrown(error).message}\n`);
  process.exit(70);
});
