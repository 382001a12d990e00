import * as assert from 'node:assert/strict';
import { setDisplaySink, type MimeBundle } from '../../src/viz/display';
import { endInterruptedBars, progress, type ProgressOptions } from '../../src/viz/progress';

/** Lets the event loop turn, as it does between two cells of a kernel. */
const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Ends the bars earlier tests left open, away from the sink of the next test. */
function forgetOpenBars(): void {
  setDisplaySink(() => {});
  endInterruptedBars();
  setDisplaySink(null);
}

/** A terminal stand-in that records what is written; `stream` is what `progress` gets. */
class FakeStream {
  readonly stream = this as unknown as NodeJS.WritableStream;
  readonly chunks: string[] = [];
  constructor(readonly isTTY: boolean) {}
  write(s: string): boolean {
    this.chunks.push(s);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** A clock the test moves by hand. */
function fakeClock(start = 0): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

interface Shown {
  bundle: MimeBundle;
  displayId?: string;
  update: boolean;
}

describe('progress in a notebook', () => {
  let shown: Shown[];
  beforeEach(() => {
    forgetOpenBars();
    shown = [];
    setDisplaySink((bundle, o) => shown.push({ bundle, ...o }));
  });
  afterEach(() => setDisplaySink(null));

  function notebookBar(clock: { now: () => number }, extra: Partial<ProgressOptions> = {}) {
    return progress({ total: 200, mode: 'notebook', now: clock.now, ...extra });
  }

  it('shows step, metrics, elapsed time and ETA from the mean step time', () => {
    const clock = fakeClock(1000);
    const bar = notebookBar(clock);
    clock.set(3000);
    bar.update(50, { loss: 0.412345 });
    // 2 s for 50 steps is 40 ms a step; 150 steps to go take 6 s.
    assert.equal(shown.length, 1);
    assert.equal(
      shown[0].bundle['text/plain'],
      'step 50/200 · loss 0.4123 · 2.0 s elapsed · ETA 6.0 s',
    );
    const html = shown[0].bundle['text/html'] as string;
    assert.match(html, /width:25\.0%/);
    assert.ok(html.includes('step 50/200 · loss 0.4123'));
    assert.equal(html.includes('<script'), false);
  });

  it('redraws one output in place, at most once per throttle interval', () => {
    const clock = fakeClock(0);
    const bar = notebookBar(clock, { total: 10, throttleMs: 200 });
    bar.update(1);
    clock.set(100);
    bar.update(2); // too soon
    clock.set(199);
    bar.update(3); // still too soon
    clock.set(250);
    bar.update(4);
    clock.set(300);
    bar.update(10); // the last step is always drawn
    assert.deepEqual(
      shown.map((s) => s.bundle['text/plain']),
      [
        'step 1/10 · 0.0 s elapsed · ETA 0.0 s',
        'step 4/10 · 0.3 s elapsed · ETA 0.4 s',
        'step 10/10 · 0.3 s elapsed',
      ],
    );
    assert.deepEqual(
      shown.map((s) => s.update),
      [false, true, true],
    );
    assert.ok(shown[0].displayId);
    assert.ok(shown.every((s) => s.displayId === shown[0].displayId));
  });

  it('ends with a static summary in the same output', () => {
    const clock = fakeClock(0);
    const bar = notebookBar(clock, { label: 'train <lm>' });
    clock.set(1000);
    bar.update(200, { loss: 0.0812, acc: 0.5 });
    clock.set(6500);
    bar.done({ acc: 0.97 });
    const summary = bar.summary!;
    assert.equal(summary, 'train <lm>: 200 steps in 6.5 s · loss 0.0812 · acc 0.97');
    const last = shown[shown.length - 1];
    assert.equal(last.update, true);
    assert.equal(last.displayId, shown[0].displayId);
    assert.equal(last.bundle['text/plain'], summary);
    assert.equal(
      last.bundle['text/html'],
      '<div class="ah-progress" style="font:12px monospace">' +
        'train &lt;lm&gt;: 200 steps in 6.5 s · loss 0.0812 · acc 0.97</div>',
    );
  });

  it('puts the label in front and leaves out the ETA before the first step', () => {
    const clock = fakeClock(0);
    const bar = notebookBar(clock, { label: 'fit' });
    bar.update(0, { loss: NaN });
    assert.equal(shown[0].bundle['text/plain'], 'fit: step 0/200 · loss NaN · 0.0 s elapsed');
  });

  it('picks the terminal when auto mode is not inside a kernel', () => {
    const fake = new FakeStream(false);
    const bar = progress({ total: 2, stream: fake.stream, now: fakeClock().now });
    bar.update(2);
    bar.done();
    assert.equal(shown.length, 0);
    assert.equal(fake.text, 'step 2/2 · 0.0 s elapsed\n2 steps in 0.0 s\n');
  });
});

describe('progress in a terminal', () => {
  it('redraws one line with a bar on a TTY', () => {
    const clock = fakeClock(0);
    const fake = new FakeStream(true);
    const bar = progress({
      total: 200,
      mode: 'terminal',
      stream: fake.stream,
      now: clock.now,
      label: 'lm',
    });
    clock.set(2000);
    bar.update(100, { loss: 0.41 });
    assert.equal(
      fake.chunks[0],
      '\rlm [##########----------]  50% step 100/200 · loss 0.41 · 2.0 s elapsed · ETA 2.0 s',
    );
    clock.set(3000);
    bar.update(150);
    assert.ok(fake.chunks[1].startsWith('\rlm [###############-----]  75% step 150/200'));
    clock.set(4000);
    bar.done();
    const summary = bar.summary!;
    const last = fake.chunks[fake.chunks.length - 1];
    assert.ok(last.startsWith(`\r${summary}`));
    assert.ok(last.endsWith('\n'));
    // The summary is padded to blank out the longer line under it.
    assert.ok(last.length - 2 >= fake.chunks[1].length - 1);
    assert.equal(fake.text.split('\n').length, 2, 'one line in the end');
  });

  it('throttles TTY redraws', () => {
    const clock = fakeClock(0);
    const fake = new FakeStream(true);
    const bar = progress({
      total: 100,
      mode: 'terminal',
      stream: fake.stream,
      now: clock.now,
      throttleMs: 50,
    });
    for (let i = 1; i <= 100; i++) {
      clock.set(i * 10);
      bar.update(i);
    }
    // Drawn at t = 10 and then every 50 ms from there (60, 110, ..., 960), plus the last step.
    assert.equal(fake.chunks.length, 21);
  });

  it('prints a plain line per 10% and the summary when not a TTY', () => {
    const clock = fakeClock(0);
    const fake = new FakeStream(false);
    const bar = progress({ total: 95, mode: 'terminal', stream: fake.stream, now: clock.now });
    for (let i = 0; i <= 95; i++) {
      clock.set(i * 100);
      bar.update(i, { loss: 1 / (i + 1) });
    }
    bar.done();
    const summary = bar.summary!;
    const lines = fake.text.trimEnd().split('\n');
    assert.equal(lines.length, 11);
    assert.equal(fake.text.includes('\r'), false);
    assert.equal(lines[0], 'step 10/95 · loss 0.09091 · 1.0 s elapsed · ETA 8.5 s');
    assert.equal(lines[9], 'step 95/95 · loss 0.01042 · 9.5 s elapsed');
    assert.equal(lines[10], summary);
    assert.equal(summary, '95 steps in 9.5 s · loss 0.01042');
  });

  it('writes nothing in silent mode but still keeps the summary', () => {
    const fake = new FakeStream(true);
    const bar = progress({ total: 3, mode: 'silent', stream: fake.stream });
    bar.update(1, { loss: 2 });
    bar.done();
    assert.match(bar.summary!, /^1 step in \d+\.\d s · loss 2$/);
    assert.deepEqual(fake.chunks, []);
  });
});

describe('progress errors', () => {
  const errors: [string, () => unknown, RegExp][] = [
    [
      'a zero total',
      () => progress({ total: 0 }),
      /total: expected a positive integer, got number 0/,
    ],
    [
      'a fractional total',
      () => progress({ total: 2.5 }),
      /total: expected a positive integer, got number 2\.5/,
    ],
    [
      'a string total',
      () => progress({ total: '10' as unknown as number }),
      /total: expected a positive integer, got string "10"/,
    ],
    [
      'an unknown mode',
      () => progress({ total: 1, mode: 'html' as 'auto' }),
      /mode: expected one of 'auto', 'notebook', 'terminal', 'silent', got string "html"/,
    ],
    [
      'a negative throttle',
      () => progress({ total: 1, throttleMs: -1 }),
      /throttleMs: expected a number >= 0, got number -1/,
    ],
    [
      'a step past the total',
      () => progress({ total: 10, mode: 'silent' }).update(11),
      /step: expected an integer in \[0, 10\], got number 11/,
    ],
    [
      'a negative step',
      () => progress({ total: 10, mode: 'silent' }).update(-1),
      /step: expected an integer in \[0, 10\], got number -1/,
    ],
    [
      'a fractional step',
      () => progress({ total: 10, mode: 'silent' }).update(1.5),
      /step: expected an integer in \[0, 10\], got number 1\.5/,
    ],
    [
      'a metric that is not a number',
      () => progress({ total: 10, mode: 'silent' }).update(1, { loss: '0.5' as unknown as number }),
      /metrics: expected a number for "loss", got string "0\.5"/,
    ],
    [
      'an update after done',
      () => {
        const bar = progress({ total: 10, mode: 'silent' });
        bar.done();
        bar.update(1);
      },
      /progress: update\(\) after done\(\)/,
    ],
    [
      'done twice',
      () => {
        const bar = progress({ total: 10, mode: 'silent' });
        bar.done();
        bar.done();
      },
      /progress: done\(\) was already called/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what}`, () => assert.throws(thunk, message));
  }
});

describe('progress after an interrupted loop', () => {
  let shown: Shown[];
  beforeEach(() => {
    forgetOpenBars();
    shown = [];
    setDisplaySink((bundle, o) => shown.push({ bundle, ...o }));
  });
  afterEach(() => setDisplaySink(null));

  it('the next bar ends a bar left open by an earlier task as interrupted, in its own output', async () => {
    const clock = fakeClock(0);
    const old = progress({ total: 100, label: 'training', mode: 'notebook', now: clock.now });
    clock.set(1500);
    old.update(37, { loss: 0.25 });
    const oldId = shown[0].displayId;
    // The cell was stopped here: no done(). The user runs it again (a later task).
    await nextTask();
    clock.set(9000);
    const fresh = progress({ total: 100, label: 'training', mode: 'notebook', now: clock.now });
    const last = shown[shown.length - 1];
    assert.equal(last.displayId, oldId, 'the old output is updated in place');
    assert.equal(last.update, true);
    // 37 steps done; the last update came 1.5 s after the start (not 9 s: the time since the
    // interrupt is not training time).
    assert.equal(
      last.bundle['text/plain'],
      'training: interrupted at step 37/100 after 1.5 s · loss 0.25',
    );
    assert.equal(old.interruption, 'training: interrupted at step 37/100 after 1.5 s · loss 0.25');
    assert.equal(old.summary, null);
    assert.equal(fresh.interruption, null);
    fresh.done();
  });

  it('leaves open bars of the same task alone (nested loops)', () => {
    const outer = progress({ total: 3, mode: 'notebook' });
    outer.update(1);
    const inner = progress({ total: 5, mode: 'notebook' });
    assert.equal(outer.interruption, null);
    assert.equal(endInterruptedBars(), 0);
    inner.done();
    outer.done();
  });

  it('a bar marked interrupted that is updated again (an async loop) is drawn again', async () => {
    const bar = progress({ total: 10, mode: 'notebook' });
    bar.update(2);
    await nextTask();
    assert.equal(endInterruptedBars(), 1);
    assert.match(bar.interruption ?? '', /^interrupted at step 2\/10 after /);
    bar.update(3);
    assert.equal(bar.interruption, null);
    assert.match(String(shown[shown.length - 1].bundle['text/plain']), /^step 3\/10 /);
    bar.done();
    assert.match(bar.summary ?? '', /^3 steps in /);
  });

  it('a terminal bar prints the interrupted line; a finished bar is never marked', async () => {
    const fake = new FakeStream(false);
    const bar = progress({ total: 10, mode: 'terminal', stream: fake.stream, label: 'fit' });
    bar.update(4);
    const finished = progress({ total: 2, mode: 'silent' });
    finished.done();
    await nextTask();
    assert.equal(endInterruptedBars(), 1);
    assert.match(fake.text, /fit: interrupted at step 4\/10 after \S+ s\n$/);
  });
});
