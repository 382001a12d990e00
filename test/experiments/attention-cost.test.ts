import * as assert from 'node:assert/strict';
import { measureLayerCost } from '../../src/experiments/attention-cost';
import { expectNoLeak } from '../helpers/tensors';

describe('measureLayerCost', function () {
  this.timeout(20_000);

  it('self-attention holds the [B, H, T, T] weights; a GRU dispatches kernels per step', async () => {
    const report = await expectNoLeak(() =>
      measureLayerCost({ lengths: [8, 32], dModel: 8, numHeads: 2, batch: 1, repeats: 1 }),
    );
    assert.deepEqual(
      report.selfAttention.map((r) => r.length),
      [8, 32],
    );
    const [a8, a32] = report.selfAttention;
    // the weights alone are B * H * T * T float32: 2 * 32 * 32 * 4 = 8192 bytes at T = 32
    assert.ok(a32.peakBytes >= 2 * 32 * 32 * 4, `peak ${a32.peakBytes} bytes at T = 32`);
    assert.ok(a32.peakBytes > 4 * a8.peakBytes, `${a8.peakBytes} -> ${a32.peakBytes} bytes`);
    // the attention layer runs the same ops whatever T; the GRU runs its step T times
    assert.equal(a8.kernels, a32.kernels);
    const [g8, g32] = report.gru;
    assert.ok(g32.kernels >= g8.kernels + 24, `GRU kernels ${g8.kernels} -> ${g32.kernels}`);
    for (const r of [...report.selfAttention, ...report.gru]) {
      assert.ok(Number.isFinite(r.ms) && r.ms >= 0, `time ${r.ms}`);
    }
  });

  it('rejects bad lengths and a head count that does not divide the width', async () => {
    await assert.rejects(
      measureLayerCost({ lengths: [] }),
      /lengths: expected a non-empty array of integers >= 1, got \[\]/,
    );
    await assert.rejects(
      measureLayerCost({ lengths: [4, 0] }),
      /lengths\[1\]: expected an integer >= 1, got number 0/,
    );
    await assert.rejects(
      measureLayerCost({ lengths: [4], dModel: 6, numHeads: 4 }),
      /numHeads: expected a divisor of dModel = 6, got 4/,
    );
  });
});
