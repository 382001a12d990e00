/**
 * `npm run bench -- targets`: time to target, same seed, with the chapters' own recipes
 * (`src/models/recipes.ts`). Chapter 03: the Bahdanau model on dates, trained as the notebook
 * trains it, until 99.5% of the validation dates are exactly right or `budgetSec` runs out;
 * then greedy exact match on the 2,000 held-out test dates. Chapter 06: the Transformer on the
 * same dates, the same way, with the warm-up schedule.
 */
import { BOS, EOS } from '../../src/data/vocab';
import { makeDateData } from '../../src/data/dates';
import { seq2seqDataset } from '../../src/data/batches';
import { greedyExactMatch } from '../../src/decode/translate';
import { BahdanauSeq2Seq } from '../../src/models/bahdanau';
import { DATES_RECIPE, TRANSFORMER_DATES_RECIPE } from '../../src/models/recipes';
import { TransformerSeq2Seq } from '../../src/models/transformer';
import { fit } from '../../src/train/fit';
import { warmupInverseSqrt, type Schedule } from '../../src/train/schedules';

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
  testExactMatch: number;
  testSize: number;
}

/** What `trainToTarget` needs of a recipe. */
interface TargetRecipe {
  batchSize: number;
  clipNorm: number;
  evalEvery: number;
  validDates: number;
  targetExactMatch: number;
  budgetSec: number;
  maxSteps: number;
}

type DatesModel = BahdanauSeq2Seq | TransformerSeq2Seq;

/**
 * Trains `makeModel`'s model on the dates (seed 0) as the notebooks do, until the recipe's
 * validation target or `budgetSec`, then measures greedy exact match on the test dates.
 */
async function trainToTarget(
  chapter: string,
  name: string,
  makeModel: (srcVocab: number, tgtVocab: number) => DatesModel,
  r: TargetRecipe,
  lr: number | Schedule,
  budgetSec: number,
): Promise<TargetResult> {
  const dates = makeDateData({ seed: 0 });
  const text = { source: dates.sourceVocab, target: dates.targetVocab, maxLen: 11 };
  const valid = dates.valid.slice(0, r.validDates);
  const model = makeModel(dates.sourceVocab.size, dates.targetVocab.size);
  try {
    const run = await fit({
      model,
      loss: (batch, m) => m.loss(batch),
      data: {
        train: seq2seqDataset(dates.train, {
          sourceVocab: dates.sourceVocab,
          targetVocab: dates.targetVocab,
        }),
        valid,
      },
      batchSize: r.batchSize,
      lr,
      clipNorm: r.clipNorm,
      steps: r.maxSteps,
      evalEvery: r.evalEvery,
      metrics: { valid: (m) => greedyExactMatch(m, valid, text) },
      target: { metric: 'valid', value: r.targetExactMatch },
      timeBudgetSec: budgetSec,
      progress: false,
    });
    const test = greedyExactMatch(model, dates.test, text);
    return {
      chapter,
      model: `${name} (${model.numParameters().toLocaleString('en-US')} parameters)`,
      target: `>= 99% exact match on the held-out dates within ${r.budgetSec} s`,
      reached: test >= 0.99 && run.seconds <= r.budgetSec,
      seconds: run.seconds,
      updates: run.steps,
      stoppedBy: run.stoppedBy,
      testExactMatch: test,
      testSize: dates.test.length,
    };
  } finally {
    model.dispose();
  }
}

/** Chapter 03's target: >= 99% exact match on held-out dates within 60 s of training. */
export async function datesTarget(budgetSec: number): Promise<TargetResult> {
  const make = (srcVocab: number, tgtVocab: number) =>
    new BahdanauSeq2Seq({ srcVocab, tgtVocab, bos: BOS, eos: EOS, seed: 0 });
  return trainToTarget('03', 'BahdanauSeq2Seq', make, DATES_RECIPE, DATES_RECIPE.lr, budgetSec);
}

/** Chapter 06's target: the Transformer, >= 99% exact match on held-out dates within 90 s. */
export async function transformerDatesTarget(budgetSec: number): Promise<TargetResult> {
  const r = TRANSFORMER_DATES_RECIPE;
  const make = (srcVocab: number, tgtVocab: number) =>
    new TransformerSeq2Seq({ ...r.model, srcVocab, tgtVocab, bos: BOS, eos: EOS, seed: 0 });
  const lr = warmupInverseSqrt({ warmup: r.warmup, peak: r.peakLr });
  return trainToTarget('06', 'TransformerSeq2Seq', make, r, lr, budgetSec);
}
