/**
 * The channel between the grader's main thread and its sandbox host thread (`sandbox.ts` and
 * `sandbox-host.ts`). Graded tests are synchronous, so the main thread posts a request and blocks
 * in `Atomics.wait` until the host thread posts the reply and raises a shared flag.
 *
 * Every request carries a sequence number that its reply repeats. When the main thread stops
 * waiting (the host was later than every limit allows), the reply that comes afterwards is
 * recognised as stale and dropped. Without the number it would be taken for the answer to the
 * next request, and every later answer would belong to the request before it: a loaded module
 * read as a call's value, a call's value read as a loaded module.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

/** A request or a reply on the channel, with the request's sequence number. */
export interface Envelope<T> {
  seq: number;
  body: T;
}

/** The host thread's side: posts `body` as the reply to request `seq` and wakes the main thread. */
export function replyToMain<T>(port: MessagePort, flag: Int32Array, seq: number, body: T): void {
  port.postMessage({ seq, body } satisfies Envelope<T>);
  // After the message: a main thread woken by the flag finds the message already queued.
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

/** The main thread's side: one request at a time, each waiting for its own reply only. */
export class MainEnd<Request, Reply> {
  private seq = 0;

  /**
   * @param post sends an envelope to the host thread (`worker.postMessage`).
   * @param port the main thread's end of the reply channel.
   * @param flag one shared `Int32Array` cell the host raises after each reply.
   */
  constructor(
    private readonly post: (message: Envelope<Request>) => void,
    private readonly port: MessagePort,
    private readonly flag: Int32Array,
  ) {
    if (!(flag instanceof Int32Array) || !(flag.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError('MainEnd: flag must be an Int32Array on a SharedArrayBuffer');
    }
  }

  /**
   * Posts `body` and blocks until its reply, at most `waitMs`. Returns the reply, or `undefined`
   * when none came in time; replies to earlier requests found on the way are dropped.
   */
  request(body: Request, waitMs: number): Reply | undefined {
    if (!(typeof waitMs === 'number' && Number.isFinite(waitMs))) {
      throw new RangeError(`MainEnd.request: waitMs must be a finite number, got ${waitMs}`);
    }
    const seq = ++this.seq;
    const until = Date.now() + waitMs;
    Atomics.store(this.flag, 0, 0);
    this.post({ seq, body });
    for (;;) {
      const early = this.take(seq);
      if (early) return early.body;
      // Lower the flag, then look again: a reply posted between the look and the store raised
      // the flag before the store, so the wait below would not see it.
      Atomics.store(this.flag, 0, 0);
      const raced = this.take(seq);
      if (raced) return raced.body;
      const left = until - Date.now();
      if (left <= 0 || Atomics.wait(this.flag, 0, 0, left) === 'timed-out') {
        return this.take(seq)?.body;
      }
    }
  }

  /** The reply to `seq` if it has come; every queued reply to an earlier request is dropped. */
  private take(seq: number): Envelope<Reply> | undefined {
    for (;;) {
      const received = receiveMessageOnPort(this.port);
      if (!received) return undefined;
      const envelope = received.message as Envelope<Reply>;
      if (envelope?.seq === seq) return envelope;
    }
  }
}
