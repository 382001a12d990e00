/**
 * The channel between the grader's main thread and its host thread: a reply that comes after the
 * main thread stopped waiting is dropped, never taken for the answer to the next request.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { MainEnd } from '../../tools/grading/host-channel';

/** What the test host does with a request: reply `value` after `delayMs`, on its own timer. */
interface Ask {
  delayMs: number;
  value: string;
}

const CHANNEL = path.join(__dirname, '..', '..', 'tools', 'grading', 'host-channel.ts');

// A host thread that answers out of order when told to: each request on its own timer.
const HOST = `
require('tsx/cjs/api').register();
const { replyToMain } = require(${JSON.stringify(CHANNEL)});
const { parentPort, workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.signal);
parentPort.on('message', ({ seq, body }) => {
  setTimeout(() => replyToMain(workerData.port, flag, seq, body.value), body.delayMs);
});
`;

describe('grader host channel', function () {
  this.timeout(30_000);
  let worker: Worker;
  let main: MainEnd<Ask, string>;

  before(() => {
    const signal = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    worker = new Worker(HOST, {
      eval: true,
      workerData: { port: port2, signal },
      transferList: [port2],
    });
    main = new MainEnd((m) => worker.postMessage(m), port1, new Int32Array(signal));
  });

  after(() => worker.terminate());

  it('returns the reply to each request, in turn', () => {
    // The first request also waits for the thread to start.
    assert.equal(main.request({ delayMs: 0, value: 'one' }, 20_000), 'one');
    assert.equal(main.request({ delayMs: 50, value: 'two' }, 5_000), 'two');
  });

  it('gives up on a late reply, then drops it when it comes', () => {
    const t0 = Date.now();
    assert.equal(main.request({ delayMs: 600, value: 'late' }, 100), undefined);
    const waited = Date.now() - t0;
    assert.ok(waited >= 100 && waited < 550, `waited ${waited} ms`);
    // This request is answered after the late reply has arrived: it must still get its own.
    assert.equal(main.request({ delayMs: 900, value: 'next' }, 5_000), 'next');
    assert.equal(main.request({ delayMs: 0, value: 'after' }, 5_000), 'after');
  });

  it('names what it expected of its arguments', () => {
    assert.throws(
      () => main.request({ delayMs: 0, value: 'x' }, NaN),
      /waitMs must be a finite number, got NaN/,
    );
    const { port1 } = new MessageChannel();
    assert.throws(
      () => new MainEnd(() => {}, port1, new Int32Array(1)),
      /flag must be an Int32Array on a SharedArrayBuffer/,
    );
    port1.close();
  });
});
