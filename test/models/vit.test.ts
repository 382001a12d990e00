import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  addClassToken,
  ConvStem,
  PatchEmbedding,
  patchify,
  ViTBlock,
  unpatchify,
  VisionTransformer,
} from '../../src/models/vit';
import { crossEntropy } from '../../src/train/losses';
import { expectNoLeak } from '../helpers/tensors';

/** The values of a tensor the test made, which it then frees. */
function take(t: tf.Tensor): unknown {
  const v = t.arraySync();
  t.dispose();
  return v;
}

/** The flat values of a tensor the test made, which it then frees. */
function flat(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

/**
 * The reference for `ConvStem.apply`: relu(bias + the sum over each 3 x 3 window, zero outside the
 * image, and over the input channels), written out as loops. `top` / `left` are the padding before
 * the first row / column, `out` the output map size.
 */
function directConv(
  x: tf.Tensor,
  stem: ConvStem,
  b: number[],
  o: { stride: number; top: number; left: number; out: [number, number] },
): number[] {
  const xs = x.arraySync() as number[][][][]; // [B, Hi, Wi, C]
  const w = stem.filter.arraySync() as number[][][][]; // [k, k, C, F]
  const [n0, hi, wi, chans] = x.shape;
  const want: number[] = [];
  for (let n = 0; n < n0; n++)
    for (let r = 0; r < o.out[0]; r++)
      for (let c = 0; c < o.out[1]; c++)
        for (let f = 0; f < b.length; f++) {
          let sum = b[f];
          for (let i = 0; i < 3; i++)
            for (let j = 0; j < 3; j++)
              for (let ch = 0; ch < chans; ch++) {
                const [rr, cc] = [o.stride * r + i - o.top, o.stride * c + j - o.left];
                if (rr >= 0 && rr < hi && cc >= 0 && cc < wi)
                  sum += xs[n][rr][cc][ch] * w[i][j][ch][f];
              }
          want.push(Math.max(0, sum));
        }
  return want;
}

describe('Vision Transformer parts', () => {
  it('patchify cuts a 4 x 4 image into 2 x 2 patches row by row (hand-written)', async () => {
    await expectNoLeak(() => {
      const img = tf.tidy(() => tf.range(0, 16).reshape([1, 4, 4, 1]));
      assert.deepEqual(take(patchify(img, 2)), [
        [
          [0, 1, 4, 5],
          [2, 3, 6, 7],
          [8, 9, 12, 13],
          [10, 11, 14, 15],
        ],
      ]);
      // Two channels: a patch is flattened (row, column, channel).
      const rgb = tf.tidy(() => tf.range(0, 8).reshape([1, 2, 2, 2]));
      assert.deepEqual(take(patchify(rgb, 2)), [[[0, 1, 2, 3, 4, 5, 6, 7]]]);
      tf.dispose([img, rgb]);
    });
  });

  it('unpatchify inverts patchify exactly (rectangular, 3 channels)', async () => {
    await expectNoLeak(() => {
      const x = tf.randomNormal([2, 6, 4, 3], 0, 1, 'float32', 3);
      const p = patchify(x, 2);
      assert.deepEqual(p.shape, [2, 6, 12]);
      const back = unpatchify(p, 2, 6, 4);
      assert.deepEqual(back.shape, [2, 6, 4, 3]);
      assert.equal(
        tf.tidy(() => back.sub(x).abs().max().dataSync()[0]),
        0,
      );
      tf.dispose([x, p, back]);
    });
  });

  it('rejects a patch size that does not divide the image, naming it', () => {
    const x = tf.zeros([1, 5, 4, 1]);
    assert.throws(
      () => patchify(x, 2),
      /patchify: patchSize: expected a divisor of the image height 5/,
    );
    assert.throws(
      () => unpatchify(tf.zeros([1, 3, 4]), 2, 4, 4),
      /patches: expected shape \[B, 4, \?\]/,
    );
    x.dispose();
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`linear patch embedding equals a P x P convolution with stride P (${backend})`, async () => {
      const before = tf.getBackend();
      await tf.setBackend(backend);
      try {
        await expectNoLeak(() => {
          const embed = new PatchEmbedding({ patchSize: 4, channels: 2, dModel: 5, seed: 1 });
          const x = tf.randomUniform([2, 8, 12, 2], 0, 1, 'float32', 9);
          const viaLinear = tf.tidy(() => embed.apply(x).sub(embed.proj.bias!));
          const filter = embed.asConvFilter();
          const viaConv = tf.conv2d(x as tf.Tensor4D, filter, 4, 'valid'); // [B, Gh, Gw, D]
          assert.deepEqual(viaConv.shape, [2, 2, 3, 5]);
          const diff = tf.tidy(() =>
            viaLinear
              .sub(viaConv.reshape([2, 6, 5]))
              .abs()
              .max(),
          );
          assert.ok(diff.dataSync()[0] < 1e-5, `max difference ${diff.dataSync()[0]}`);
          tf.dispose([x, viaLinear, filter, viaConv, diff]);
          embed.dispose();
        });
      } finally {
        await tf.setBackend(before);
      }
    });
  }

  it('addClassToken puts the class token first and adds positions (hand-written)', async () => {
    await expectNoLeak(() => {
      const tokens = tf.tensor3d([
        [
          [1, 2],
          [3, 4],
        ],
      ]); // [1, 2, 2]
      const cls = tf.tensor3d([[[10, 20]]]);
      const pos = tf.tensor2d([
        [0.5, 0.5],
        [1, 1],
        [2, 2],
      ]);
      assert.deepEqual(take(addClassToken(tokens, cls, pos)), [
        [
          [10.5, 20.5],
          [2, 3],
          [5, 6],
        ],
      ]);
      assert.throws(
        () => addClassToken(tokens, cls, tokens),
        /positions: expected shape \[1, 3, D\]/,
      );
      tf.dispose([tokens, cls, pos]);
    });
  });

  it('VisionTransformer: logits [B, K], one [B, H, N+1, N+1] attention per layer, rows sum to 1', async () => {
    const vit = new VisionTransformer({
      numClasses: 3,
      imageSize: 8,
      patchSize: 4,
      dModel: 8,
      numHeads: 2,
      numLayers: 3,
    });
    await expectNoLeak(() => {
      const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 1);
      const { logits, attention } = vit.forward(x);
      assert.deepEqual(logits.shape, [2, 3]);
      assert.equal(attention.length, 3);
      for (const a of attention) {
        assert.deepEqual(a.shape, [2, 2, 5, 5]);
        const rows = flat(a.sum(-1));
        rows.forEach((r) => assert.ok(Math.abs(r - 1) < 1e-5));
      }
      tf.dispose([x, logits, ...attention]);
    });
    // Parameters, counted by hand: embed 16*8+8, cls 8, pos 5*8, 3 blocks of
    // (2 LN 2*16, MHA 4*(64+8), FFN 8*16+16+16*8+8), final LN 16, head 8*3+3.
    const block = 2 * 16 + 4 * 72 + (8 * 16 + 16 + 16 * 8 + 8);
    assert.equal(vit.numParameters(), 136 + 8 + 40 + 3 * block + 16 + 27);
    assert.throws(
      () => vit.apply(tf.zeros([1, 7, 8, 1])),
      /VisionTransformer.apply: images: expected shape \[B, 8, 8, 1\]/,
    );
    vit.dispose();
  });

  it('the gradient reaches every weight, the class token and the positions included', async () => {
    const vit = new VisionTransformer({
      numClasses: 2,
      imageSize: 4,
      patchSize: 2,
      dModel: 4,
      numHeads: 2,
    });
    await expectNoLeak(() => {
      const x = tf.randomUniform([3, 4, 4, 1], 0, 1, 'float32', 2);
      const y = tf.tensor1d([0, 1, 1], 'int32');
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(vit.apply(x), y),
        vit.variables(),
      );
      for (const [name, v] of vit.namedVariables()) {
        const g = grads[v.name];
        assert.ok(g, `no gradient for ${name}`);
        assert.ok(flat(tf.tidy(() => g.abs().sum()))[0] > 0, `zero gradient for ${name}`);
      }
      tf.dispose([x, y, value, grads]);
    });
    vit.dispose();
  });

  it('ConvStem: a 3 x 3 same convolution, bias and ReLU, equal to a direct sum (2 channels in)', async () => {
    const stem = new ConvStem({ inChannels: 2, outChannels: 3, seed: 4 });
    stem.bias.assign(tf.tensor1d([0.1, -0.2, 0.3]));
    await expectNoLeak(() => {
      const x = tf.randomNormal([2, 4, 5, 2], 0, 1, 'float32', 6);
      const got = stem.apply(x);
      assert.deepEqual(got.shape, [2, 4, 5, 3]);
      // Reference: sum over the 3 x 3 window (zero outside), channels in, plus bias, then ReLU.
      const want = directConv(x, stem, [0.1, -0.2, 0.3], {
        stride: 1,
        top: 1,
        left: 1,
        out: [4, 5],
      });
      const values = flat(got);
      values.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `${i}: ${v} vs ${want[i]}`));
      assert.ok(want.some((v) => v === 0) && want.some((v) => v > 0), 'the ReLU is exercised');
      x.dispose();
    });
    assert.throws(
      () => stem.apply(tf.zeros([1, 4, 4, 1])),
      /ConvStem.apply: images: expected shape \[B, Hi, Wi, 2\]/,
    );
    assert.throws(
      () => new ConvStem({ outChannels: 4, kernelSize: 2 }),
      /kernelSize: expected an odd number, got 2/,
    );
    stem.dispose();
  });

  it('the hybrid ViT (stemChannels > 0) cuts its patches from the stem, and every weight learns', async () => {
    const vit = new VisionTransformer({
      numClasses: 2,
      imageSize: 4,
      patchSize: 2,
      dModel: 4,
      numHeads: 2,
      stemChannels: 3,
    });
    // the patch embedding reads P*P*F = 2*2*3 numbers per patch
    assert.deepEqual(vit.patchEmbed.proj.weight.shape, [12, 4]);
    assert.deepEqual(
      vit
        .namedVariables()
        .slice(0, 2)
        .map(([name]) => name),
      ['stem.filter', 'stem.bias'],
    );
    await expectNoLeak(() => {
      const x = tf.randomUniform([3, 4, 4, 1], 0, 1, 'float32', 2);
      const y = tf.tensor1d([0, 1, 1], 'int32');
      // forward = stem, then the plain pipeline on the feature maps
      const maps = vit.stem!.apply(x); // [B, Hi, Wi, F]
      assert.deepEqual(maps.shape, [3, 4, 4, 3]);
      const tokens = vit.patchEmbed.apply(maps);
      assert.deepEqual(tokens.shape, [3, 4, 4]);
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(vit.apply(x), y),
        vit.variables(),
      );
      for (const [name, v] of vit.namedVariables()) {
        const g = grads[v.name];
        assert.ok(g, `no gradient for ${name}`);
        assert.ok(flat(tf.tidy(() => g.abs().sum()))[0] > 0, `zero gradient for ${name}`);
      }
      tf.dispose([x, y, maps, tokens, value, grads]);
    });
    const plain = new VisionTransformer({ numClasses: 2 });
    assert.equal(plain.stem, null);
    plain.dispose();
    vit.dispose();
  });

  it('ConvStem with stride 2: TensorFlow-style same padding, equal to a direct sum', async () => {
    const stem = new ConvStem({ inChannels: 2, outChannels: 3, stride: 2, seed: 5 });
    stem.bias.assign(tf.tensor1d([0.2, -0.1, 0.05]));
    await expectNoLeak(() => {
      const [hi, wi] = [4, 5];
      const x = tf.randomNormal([2, hi, wi, 2], 0, 1, 'float32', 7);
      const got = stem.apply(x);
      // out = ceil(in / 2): 4 -> 2, 5 -> 3
      assert.deepEqual(got.shape, [2, 2, 3, 3]);
      // TensorFlow's 'same': total padding max((out - 1) * s + k - in, 0), the smaller half on top
      // / left: rows (1 * 2 + 3 - 4) = 1 -> 0 above; columns (2 * 2 + 3 - 5) = 2 -> 1 to the left.
      const want = directConv(x, stem, [0.2, -0.1, 0.05], {
        stride: 2,
        top: 0,
        left: 1,
        out: [2, 3],
      });
      const values = flat(got);
      values.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `${i}: ${v} vs ${want[i]}`));
      assert.ok(want.some((v) => v === 0) && want.some((v) => v > 0), 'the ReLU is exercised');
      x.dispose();
    });
    assert.throws(
      () => new ConvStem({ outChannels: 4, stride: 0 }),
      /stride: expected an integer >= 1, got number 0/,
    );
    stem.dispose();
  });

  it('the strided-stem ViT (convStem) halves the maps per layer, then patches them; every weight learns', async () => {
    // 8 x 8 images -> 4 x 4 maps of 3 -> 2 x 2 maps of 5, patch 1: 4 tokens of 5 numbers
    const vit = new VisionTransformer({
      numClasses: 3,
      imageSize: 8,
      patchSize: 1,
      dModel: 4,
      numHeads: 2,
      convStem: [3, 5],
    });
    assert.equal(vit.numPatches, 4);
    assert.deepEqual(vit.positions.shape, [1, 5, 4]);
    assert.deepEqual(vit.patchEmbed.proj.weight.shape, [5, 4]);
    assert.deepEqual(
      vit
        .namedVariables()
        .slice(0, 4)
        .map(([name]) => name),
      ['convStem.0.filter', 'convStem.0.bias', 'convStem.1.filter', 'convStem.1.bias'],
    );
    assert.deepEqual(vit.convStem[1].filter.shape, [3, 3, 3, 5]);
    await expectNoLeak(() => {
      const x = tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 3);
      const y = tf.tensor1d([0, 1, 2], 'int32');
      // forward = the two stride-2 convolutions, then the plain pipeline on the 2 x 2 maps
      const want = tf.tidy(() => {
        const maps = vit.convStem[1].apply(vit.convStem[0].apply(x)); // [B, 2, 2, 5]
        let h = addClassToken(vit.patchEmbed.apply(maps), vit.classToken, vit.positions);
        for (const block of vit.blocks) h = block.apply(h).output;
        const cls = h.slice([0, 0, 0], [3, 1, 4]).reshape([3, 4]);
        return vit.head.apply(vit.norm.apply(cls));
      });
      const got = vit.apply(x);
      const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]);
      assert.ok(gap < 1e-5, `forward vs written-out pipeline: ${gap}`);
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(vit.apply(x), y),
        vit.variables(),
      );
      for (const [name, v] of vit.namedVariables()) {
        const g = grads[v.name];
        assert.ok(g, `no gradient for ${name}`);
        assert.ok(flat(tf.tidy(() => g.abs().sum()))[0] > 0, `zero gradient for ${name}`);
      }
      tf.dispose([x, y, want, got, value, grads]);
    });
    vit.dispose();
    assert.throws(
      () => new VisionTransformer({ numClasses: 2, stemChannels: 4, convStem: [4] }),
      /convStem: expected \[\] when stemChannels > 0/,
    );
    // 28 -> 14 -> 7: a patch of 2 does not divide 7
    assert.throws(
      () => new VisionTransformer({ numClasses: 2, patchSize: 2, convStem: [4, 4] }),
      /patchSize: expected a divisor of the image height 7 and width 7, got 2/,
    );
    assert.throws(
      () => new VisionTransformer({ numClasses: 2, convStem: [4, 0] as number[] }),
      /convStem\[1\]: expected an integer >= 1, got number 0/,
    );
  });

  it("pool: 'mean' feeds the head the average of the patch tokens (not the class token)", async () => {
    const cfg = { numClasses: 3, imageSize: 4, patchSize: 2, dModel: 4, numHeads: 2, seed: 9 };
    const vit = new VisionTransformer({ ...cfg, pool: 'mean' });
    await expectNoLeak(() => {
      const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 4);
      const { logits, attention } = vit.forward(x);
      const want = tf.tidy(() => {
        let h = addClassToken(vit.patchEmbed.apply(x), vit.classToken, vit.positions);
        for (const block of vit.blocks) h = block.apply(h).output;
        const rows = h.arraySync() as number[][][]; // [B, N+1, D]
        // the mean of rows 1..N (the 4 patch tokens), written out
        const mean = rows.map((seq) =>
          [0, 1, 2, 3].map((d) => (seq[1][d] + seq[2][d] + seq[3][d] + seq[4][d]) / 4),
        );
        return vit.head.apply(vit.norm.apply(tf.tensor2d(mean)));
      });
      const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, want))).dataSync()[0]);
      assert.ok(gap < 1e-5, `mean pooling vs written-out mean: ${gap}`);
      // the class-token model with the same weights gives other scores
      const cls = new VisionTransformer({ ...cfg, pool: 'class' });
      const other = cls.apply(x);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(other, logits))).dataSync()[0]);
      assert.ok(diff > 1e-4, `class vs mean pooling should differ: ${diff}`);
      assert.equal(attention.length, 2);
      cls.dispose();
      tf.dispose([x, logits, attention, want, other]);
    });
    vit.dispose();
    assert.throws(
      () => new VisionTransformer({ numClasses: 2, pool: 'max' as 'mean' }),
      /pool: expected 'class' or 'mean', got max/,
    );
  });

  it('ViTBlock is the pre-norm GELU block: x + MHA(LN1 x), then + FFN(LN2 .) with a GELU', async () => {
    const block = new ViTBlock({ dModel: 4, numHeads: 2, dHidden: 6, seed: 3 });
    await expectNoLeak(() => {
      const x = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 8);
      const { output, weights } = block.apply(x);
      const want = tf.tidy(() => {
        const h = block.norm1.apply(x);
        const a = block.selfAttn.apply(h, h, h).output;
        const x1 = tf.add(x, a);
        // the feed-forward part written out: GELU (erf form) between its two linear layers
        const n2 = block.norm2.apply(x1) as tf.Tensor3D;
        const [w1, b1, w2, b2] = block.ffn.variables();
        const z = tf.add(tf.matMul(n2.reshape([6, 4]), w1), b1); // [B*T, D] -> [B*T, Dff]
        const gelu = tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.div(z, Math.SQRT2))));
        const f = tf.add(tf.matMul(gelu, w2), b2).reshape([2, 3, 4]); // -> [B, T, D]
        return tf.add(x1, f);
      });
      const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(output, want))).dataSync()[0]);
      assert.ok(gap < 1e-5, `block vs written-out computation: ${gap}`);
      assert.deepEqual(weights.shape, [2, 2, 3, 3]);
      tf.dispose([x, output, weights, want]);
    });
    block.dispose();
  });
});
