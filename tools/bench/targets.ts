/**
 * `npm run bench -- targets`: time to target, same seed, with the chapters' own recipes
 * (`src/models/recipes.ts`). Chapter 03: the Bahdanau model on dates, trained as the notebook
 * trains it, until 99.5% of the validation dates are exactly right or `budgetSec` runs out;
 * then greedy exact match on the 2,000 held-out test dates. The training and measuring code is the
 * notebook's own (`trainToTarget` in `src/experiments/seq2seq-runs.ts`). Chapter 07: the ViT on
 * MNIST and on the Fashion-MNIST subset with `VIT_MNIST_RECIPE`, until the validation accuracy reaches the
 * recipe's target or the budget runs out; then accuracy on the 2,000 test images.
 */
import * as tf from '@tensorflow/tfjs';
import { BOS, EOS } from '../../src/data/vocab';
import { makeDateData } from '../../src/data/dates';
import { seq2seqDataset } from '../../src/data/batches';
import { BahdanauSeq2Seq } from '../../src/models/bahdanau';
import { trainToTarget } from '../../src/experiments/seq2seq-runs';
import { DATES_RECIPE, TRANSFORMER_DATES_RECIPE, VIT_MNIST_RECIPE } from '../../src/models/recipes';
import { TransformerSeq2Seq } from '../../src/models/transformer';
import { warmupInverseSqrt } from '../../src/train/schedules';
import { imageBatches, loadFashionMnist, loadMnist } from '../../src/data/mnist';
import { classificationAccuracy, predictClasses } from '../../src/eval/metrics';
import { VisionTransformer } from '../../src/models/vit';
import { crossEntropy } from '../../src/train/losses';
import { warmupCosine } from '../../src/train/schedules';
import { fit } from '../../src/train/fit';

/** One time-to-target measurement, as recorded in the JSON output. */
export interface TargetResult {
  chapter: string;
  model: string;
  target: string;
  reached: boolean;
  /** Seconds of training (`fit`'s own count, evaluations included). */
  seconds: number;
  updates: number;
  stoppedBy: string;
  /** What the test score measures: `'exact match'`, `'accuracy'`. */
  testMetric: string;
  testScore: number;
  testSize: number;
}

/** Chapter 03's target: >= 99% exact match on held-out dates within 60 s of training. */
export async function datesTarget(budgetSec: number): Promise<TargetResult> {
  const r = DATES_RECIPE;
  const dates = makeDateData({ seed: 0 });
  const text = { source: dates.sourceVocab, target: dates.targetVocab, maxLen: 11 };
  const model = new BahdanauSeq2Seq({
    srcVocab: dates.sourceVocab.size,
    tgtVocab: dates.targetVocab.size,
    bos: BOS,
    eos: EOS,
    seed: 0,
  });
  try {
    const r0 = await trainToTarget(model, {
      train: seq2seqDataset(dates.train, {
        sourceVocab: dates.sourceVocab,
        targetVocab: dates.targetVocab,
      }),
      valid: dates.valid.slice(0, r.validDates),
      test: dates.test,
      text,
      recipe: r,
      budgetSec,
      progress: false,
    });
    return {
      chapter: '03',
      model: `BahdanauSeq2Seq (${model.numParameters().toLocaleString('en-US')} parameters)`,
      target: `>= 99% exact match on the held-out dates within ${r.budgetSec} s`,
      reached: r0.test >= 0.99 && r0.seconds <= r.budgetSec,
      seconds: r0.seconds,
      updates: r0.steps,
      stoppedBy: r0.stoppedBy,
      testMetric: 'exact match',
      testScore: r0.test,
      testSize: r0.testSize,
    };
  } finally {
    model.dispose();
  }
}

/** Chapter 06's target: the Transformer, >= 99% exact match on held-out dates within 90 s. */
export async function transformerDatesTarget(budgetSec: number): Promise<TargetResult> {
  const r = TRANSFORMER_DATES_RECIPE;
  const dates = makeDateData({ seed: 0 });
  const text = { source: dates.sourceVocab, target: dates.targetVocab, maxLen: 11 };
  const model = new TransformerSeq2Seq({
    ...r.model,
    srcVocab: dates.sourceVocab.size,
    tgtVocab: dates.targetVocab.size,
    bos: BOS,
    eos: EOS,
    seed: 0,
  });
  try {
    const run = await trainToTarget(model, {
      train: seq2seqDataset(dates.train, {
        sourceVocab: dates.sourceVocab,
        targetVocab: dates.targetVocab,
      }),
      valid: dates.valid.slice(0, r.validDates),
      test: dates.test,
      text,
      recipe: { ...r, lr: warmupInverseSqrt({ warmup: r.warmup, peak: r.peakLr }) },
      budgetSec,
      progress: false,
    });
    return {
      chapter: '06',
      model: `TransformerSeq2Seq (${model.numParameters().toLocaleString('en-US')} parameters)`,
      target: `>= 99% exact match on the held-out dates within ${r.budgetSec} s`,
      reached: run.test >= 0.99 && run.seconds <= r.budgetSec,
      seconds: run.seconds,
      updates: run.steps,
      stoppedBy: run.stoppedBy,
      testMetric: 'exact match',
      testScore: run.test,
      testSize: run.testSize,
    };
  } finally {
    model.dispose();
  }
}

/** Chapter 07's targets: >= 97% test accuracy on MNIST, >= 85% on Fashion-MNIST, within 120 s. */
export async function vitTarget(
  dataset: 'mnist' | 'fashion-mnist',
  budgetSec: number,
): Promise<TargetResult> {
  const r = VIT_MNIST_RECIPE;
  const goal = dataset === 'mnist' ? 0.97 : 0.85;
  const data = dataset === 'mnist' ? loadMnist() : loadFashionMnist();
  const model = new VisionTransformer(r.model);
  try {
    const run = await fit({
      model,
      loss: (batch: { x: tf.Tensor; y: tf.Tensor }, m) => crossEntropy(m.apply(batch.x), batch.y),
      data: {
        train: imageBatches(data.train, { batchSize: r.batchSize, seed: 0, maxShift: r.maxShift }),
        valid: data.valid,
      },
      steps: r.maxSteps,
      lr: warmupCosine({ warmup: r.warmup, total: r.maxSteps, peak: r.lr, min: r.lr / 100 }),
      evalEvery: r.evalEvery,
      metrics: { valid: (m, v) => classificationAccuracy(predictClasses(m, v.x), v.y) },
      target: { metric: 'valid', value: dataset === 'mnist' ? r.targetAccuracy : goal + 0.01 },
      timeBudgetSec: budgetSec,
      progress: false,
    });
    model.eval();
    const test = classificationAccuracy(predictClasses(model, data.test.x), data.test.y);
    return {
      chapter: '07',
      model: `VisionTransformer on ${dataset} (${model.numParameters().toLocaleString('en-US')} parameters)`,
      target: `>= ${100 * goal}% test accuracy within ${r.budgetSec} s`,
      reached: test >= goal && run.seconds <= r.budgetSec,
      seconds: run.seconds,
      updates: run.steps,
      stoppedBy: run.stoppedBy,
      testMetric: 'accuracy',
      testScore: test,
      testSize: data.test.y.shape[0],
    };
  } finally {
    model.dispose();
    tf.dispose(data as unknown as tf.TensorContainer);
  }
}
