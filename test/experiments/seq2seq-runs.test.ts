import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { seq2seqDataset, type Seq2SeqBatch } from '../../src/data/batches';
import { makeLengthTask } from '../../src/data/sequences';
import { BOS, CharVocab, EOS } from '../../src/data/vocab';
import {
  exactMatchByGroup,
  exactMatchLine,
  trainToTarget,
  type Seq2SeqRecipe,
} from '../../src/experiments/seq2seq-runs';
import { BahdanauSeq2Seq } from '../../src/models/bahdanau';
import { BaselineSeq2Seq } from '../../src/models/baseline';
import { fit } from '../../src/train/fit';
import { Adam } from '../../src/train/optimizers';
import { CopyDecoder } from '../helpers/copy-decoder';
import { expectNoLeak } from '../helpers/tensors';

describe('experiments/seq2seq-runs', () => {
  describe('exactMatchLine', () => {
    it("prints the chapter's result line, percent to one decimal, seconds rounded", () => {
      assert.equal(
        exactMatchLine({ test: 0.996, testSize: 2000, seconds: 41.2 }, 'held-out dates'),
        'test exact match: 99.6% (2,000 held-out dates, 41 s of training)',
      );
      assert.equal(
        exactMatchLine({ test: 1 / 3, testSize: 3, seconds: 0.4 }, 'strings'),
        'test exact match: 33.3% (3 strings, 0 s of training)',
      );
    });

    it('names the bad argument', () => {
      assert.throws(
        () => exactMatchLine({ test: NaN, testSize: 2, seconds: 1 }, 'dates'),
        /exactMatchLine: result: expected \{ test, testSize, seconds \}/,
      );
      assert.throws(
        () => exactMatchLine({ test: 0.5, testSize: 2, seconds: 1 }, ''),
        /what: expected a non-empty string/,
      );
    });
  });

  describe('exactMatchByGroup', () => {
    const vocab = new CharVocab('0123456789');
    const opts = { source: vocab, target: vocab, maxLen: 8 };
    // the copying decoder writes '6' for every '5' (the id after it): strings with a 5 are wrong
    const decoder = new CopyDecoder(vocab.size, vocab.encode('5')[0]);
    const pair = (s: string) => ({ source: s, target: s });
    const groups = [
      ['12', '35'].map(pair), // 1 of 2 right
      ['777', '908', '515'].map(pair), // 2 of 3
      ['5'].map(pair), // 0 of 1
    ];

    it('gives each group its own fraction, counted by hand, whatever the batch size', () => {
      assert.deepEqual(exactMatchByGroup(decoder, groups, opts), [1 / 2, 2 / 3, 0]);
      assert.deepEqual(exactMatchByGroup(decoder, groups, { ...opts, batchSize: 2 }), [
        1 / 2,
        2 / 3,
        0,
      ]);
    });

    it('leaves no tensors behind', async () => {
      await expectNoLeak(() => exactMatchByGroup(decoder, groups, opts));
    });

    it('names the bad argument', () => {
      assert.throws(() => exactMatchByGroup(decoder, [], opts), /groups: expected a non-empty/);
      assert.throws(
        () => exactMatchByGroup(decoder, [groups[0], []], opts),
        /groups\[1\]: expected a non-empty array/,
      );
    });
  });

  describe('trainToTarget', () => {
    const task = makeLengthTask({
      trainLengths: [2, 3],
      trainSize: 40,
      testLengths: [3],
      testPerLength: 4,
      seed: 0,
    });
    const vocab = task.vocab;
    const train = seq2seqDataset(task.train, { sourceVocab: vocab, targetVocab: vocab });
    const text = { source: vocab, target: vocab, maxLen: 4 };
    const tiny = {
      srcVocab: vocab.size,
      tgtVocab: vocab.size,
      embedDim: 4,
      encoderHidden: 4,
      decoderHidden: 8,
      attentionHidden: 4,
      bos: BOS,
      eos: EOS,
      seed: 0,
    };
    const recipe: Seq2SeqRecipe = {
      batchSize: 8,
      lr: 1e-2,
      clipNorm: 1,
      evalEvery: 2,
      targetExactMatch: 1.01, // unreachable: the steps or the budget stop it
      budgetSec: 600,
      maxSteps: 4,
    };
    const base = {
      train,
      valid: task.train.slice(0, 4),
      test: task.test[0].pairs,
      text,
      recipe,
      progress: false,
    };

    it('runs maxSteps updates, evaluates on schedule, and measures the test pairs', async () => {
      const model = new BahdanauSeq2Seq(tiny);
      try {
        const r = await trainToTarget(model, base);
        assert.equal(r.steps, 4);
        assert.equal(r.stoppedBy, 'steps');
        assert.equal(r.testSize, 4);
        // exact match of 4 pairs is a multiple of 1/4
        assert.equal(Math.round(4 * r.test), 4 * r.test);
        assert.ok(r.test >= 0 && r.test <= 1);
        const evaluated = r.run.history.filter((h) => 'valid exact match' in h).map((h) => h.step);
        assert.deepEqual(evaluated, [2, 4]);
        assert.ok(r.seconds > 0 && r.seconds < 60, `seconds ${r.seconds}`);
      } finally {
        model.dispose();
      }
    });

    it('stops at the first evaluation once the target is reached', async () => {
      const model = new BaselineSeq2Seq(tiny);
      try {
        const r = await trainToTarget(model, {
          ...base,
          recipe: { ...recipe, targetExactMatch: 0 },
        });
        assert.equal(r.stoppedBy, 'target');
        assert.equal(r.steps, 2);
      } finally {
        model.dispose();
      }
    });

    it('stops when the time budget runs out, and the overrides win over the recipe', async () => {
      const model = new BahdanauSeq2Seq(tiny);
      try {
        const r = await trainToTarget(model, { ...base, budgetSec: 1e-6, maxSteps: 50 });
        assert.equal(r.stoppedBy, 'time');
        assert.equal(r.steps, 1);
      } finally {
        model.dispose();
      }
    });

    it("gives Adam the recipe's beta2: the weights of a hand-made Adam with it, not the default's", async () => {
      const [viaRecipe, byHand, byDefault] = [0, 1, 2].map(() => new BaselineSeq2Seq(tiny));
      const adam = new Adam(byHand.variables(), { lr: 1e-2, beta2: 0.5 });
      try {
        await trainToTarget(viaRecipe, { ...base, recipe: { ...recipe, beta2: 0.5 }, maxSteps: 3 });
        await trainToTarget(byDefault, { ...base, maxSteps: 3 });
        await fit({
          model: byHand,
          loss: (batch: Seq2SeqBatch) => byHand.loss(batch),
          data: train,
          batchSize: recipe.batchSize,
          optimizer: adam,
          clipNorm: recipe.clipNorm,
          steps: 3,
          seed: 0,
          progress: false,
        });
        const gap = (a: BaselineSeq2Seq, b: BaselineSeq2Seq): number =>
          Math.max(
            ...a
              .variables()
              .map((v, i) =>
                tf.tidy(() => tf.max(tf.abs(tf.sub(v, b.variables()[i]))).dataSync()[0]),
              ),
          );
        assert.ok(
          gap(viaRecipe, byHand) < 1e-6,
          `recipe vs hand-made Adam: ${gap(viaRecipe, byHand)}`,
        );
        assert.ok(
          gap(viaRecipe, byDefault) > 1e-4,
          `beta2 0.5 vs 0.999: ${gap(viaRecipe, byDefault)}`,
        );
      } finally {
        adam.dispose();
        for (const m of [viaRecipe, byHand, byDefault]) m.dispose();
      }
    });

    it('leaves no tensors behind but the model', async () => {
      const model = new BahdanauSeq2Seq(tiny);
      try {
        await expectNoLeak(() => trainToTarget(model, { ...base, maxSteps: 2 }));
        // with a beta2, trainToTarget makes the Adam itself and must free it
        await expectNoLeak(() =>
          trainToTarget(model, { ...base, recipe: { ...recipe, beta2: 0.98 }, maxSteps: 2 }),
        );
      } finally {
        model.dispose();
      }
    });

    it('names the bad argument', async () => {
      const model = new BahdanauSeq2Seq(tiny);
      try {
        await assert.rejects(
          trainToTarget(model, { ...base, valid: [] }),
          /trainToTarget: valid: expected a non-empty array/,
        );
        await assert.rejects(trainToTarget(model, { ...base, budgetSec: -1 }), /budgetSec/);
        await assert.rejects(
          trainToTarget({} as BahdanauSeq2Seq, base),
          /trainToTarget: model: expected an encoder-decoder with loss\(batch\)/,
        );
      } finally {
        model.dispose();
      }
    });
  });
});
