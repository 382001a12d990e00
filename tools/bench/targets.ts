/**
 * `npm run bench -- targets`: time to target, same seed, with the chapters' own recipes
 * (`src/models/recipes.ts`). Chapter 03: the Bahdanau model on dates; chapter 04: Luong's global
 * `dot` attention with input feeding (the variant that learns dates fastest in chapter 04's
 * table), both trained as the notebooks train them, until 99.5% of the validation dates are
 * exactly right or `budgetSec` runs out; then greedy exact match on the 2,000 held-out test dates.
 */
import { BOS, EOS } from '../../src/data/vocab';
import { makeDateData } from '../../src/data/dates';
import { seq2seqDataset } from '../../src/data/batches';
import { greedyExactMatch } from '../../src/decode/translate';
import { BahdanauSeq2Seq } from '../../src/models/bahdanau';
import { LuongSeq2Seq } from '../../src/models/luong';
import { DATES_RECIPE, LUONG_RECIPE } from '../../src/models/recipes';
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
  testExactMatch: number;
  testSize: number;
}

/** What a dates model needs to be trained and measured here. */
type DatesModel = BahdanauSeq2Seq | LuongSeq2Seq;

/** The recipe fields `trainToDatesTarget` reads (`DATES_RECIPE` and `LUONG_RECIPE` have them). */
type DatesRecipe = Pick<
  typeof DATES_RECIPE,
  | 'batchSize'
  | 'lr'
  | 'clipNorm'
  | 'evalEvery'
  | 'validDates'
  | 'targetExactMatch'
  | 'budgetSec'
  | 'maxSteps'
>;

/**
 * Trains `make(sizes)` on dates with `recipe` (seed 0, as the notebooks) until the validation
 * target or `budgetSec`, then measures greedy exact match on every held-out test date.
 */
async function trainToDatesTarget(
  chapter: string,
  name: string,
  recipe: DatesRecipe,
  make: (sizes: {
    srcVocab: number;
    tgtVocab: number;
    bos: number;
    eos: number;
    seed: number;
  }) => DatesModel,
  budgetSec: number,
): Promise<TargetResult> {
  const r = recipe;
  const dates = makeDateData({ seed: 0 });
  const text = { source: dates.sourceVocab, target: dates.targetVocab, maxLen: 11 };
  const valid = dates.valid.slice(0, r.validDates);
  const model = make({
    srcVocab: dates.sourceVocab.size,
    tgtVocab: dates.targetVocab.size,
    bos: BOS,
    eos: EOS,
    seed: 0,
  });
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
      lr: r.lr,
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
export function datesTarget(budgetSec: number): Promise<TargetResult> {
  return trainToDatesTarget(
    '03',
    'BahdanauSeq2Seq',
    DATES_RECIPE,
    (sizes) => new BahdanauSeq2Seq(sizes),
    budgetSec,
  );
}

/**
 * Chapter 04's target: Luong's global attention with the `dot` score and input feeding reaches
 * >= 99% exact match on held-out dates within 60 s of training.
 */
export function luongTarget(budgetSec: number): Promise<TargetResult> {
  return trainToDatesTarget(
    '04',
    'LuongSeq2Seq global dot, input feeding',
    LUONG_RECIPE,
    (sizes) =>
      new LuongSeq2Seq({ ...sizes, score: 'dot', attention: 'global', inputFeeding: true }),
    budgetSec,
  );
}
