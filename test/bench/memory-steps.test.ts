import * as assert from 'node:assert/strict';
import { finiteChecksEnabled, setFiniteChecks } from '../../src/core/shapes';
import { memoryOverSteps } from '../../tools/bench/timing';
import { TINY_GPT, TINY_SEQ2SEQ, miniGptStep, seq2seqStep } from '../../tools/bench/train-steps';
import { expectNoLeak } from '../helpers/tensors';

describe('bench training steps keep memory flat (tiny shapes, 30 steps)', () => {
  const rows = [
    { name: 'seq2seq', make: () => seq2seqStep(TINY_SEQ2SEQ) },
    { name: 'mini-GPT', make: () => miniGptStep(TINY_GPT) },
  ];
  for (const { name, make } of rows) {
    it(`${name}: the same tensor count and bytes after steps 1, 15 and 30, and no wasm heap growth after step 15`, async () => {
      // as the bench runs them: finite checks (a host read per checked tensor) off
      const checks = finiteChecksEnabled();
      setFiniteChecks(false);
      let marks;
      try {
        marks = await expectNoLeak(() => memoryOverSteps(make, 30, [1, 15, 30]), name);
      } finally {
        setFiniteChecks(checks);
      }
      assert.deepEqual(
        marks.map((m) => m.step),
        [1, 15, 30],
      );
      const [first, mid, last] = marks;
      assert.ok(first.tensors > 0, 'expected the model and data tensors to be counted');
      for (const m of [mid, last]) {
        assert.equal(m.tensors, first.tensors, `${name}: tensors at step ${m.step}`);
        assert.equal(m.bytes, first.bytes, `${name}: bytes at step ${m.step}`);
      }
      assert.equal(last.heapBytes, mid.heapBytes, `${name}: wasm heap from step 15 to 30`);
    });
  }
});
