/**
 * The type-check thread (`typecheck.ts`, `typeCheckAnswersIsolated`): receives
 * `{answersRoot, files, stubsRoot}`, type-checks, and posts `{result: [file, errors[]][]}` (or
 * `{error}`) on its port, then wakes the waiting grader. Started with a heap cap, so that a
 * submission cannot exhaust the grader's memory through the compiler.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { typeCheckAnswers } from './typecheck';

const { port, signal } = workerData as { port: MessagePort; signal: SharedArrayBuffer };
const flag = new Int32Array(signal);

parentPort!.on(
  'message',
  (request: { answersRoot: string; files: string[]; stubsRoot?: string }) => {
    let reply: { result?: [string, string[]][]; error?: string };
    try {
      reply = {
        result: [...typeCheckAnswers(request.answersRoot, request.files, request.stubsRoot)],
      };
    } catch (error) {
      reply = { error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  },
);
