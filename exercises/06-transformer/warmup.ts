/**
 * Exercise 06.3: the warm-up learning-rate schedule (chapter 06, "The Transformer").
 *
 * Vaswani et al. (2017, Section 5.3, eq. 3) train with a rate that rises linearly for `warmup`
 * updates and then falls as the inverse square root of the update count:
 *
 *   lrate(step) = dModel^-0.5 * min(step^-0.5, step * warmup^-1.5)
 *
 * `step` counts updates from 1: the first update uses `lrate(1)`. The two terms of the `min`
 * are equal at `step = warmup`, where the rate peaks at `(dModel * warmup)^-0.5`.
 *
 * Requirements: return a plain number (not a tensor); throw a `RangeError` whose message names
 * `step` when `step` is not an integer >= 1 (step 0 would divide by zero in `step^-0.5`).
 * Tip: `Math.pow(x, -0.5)` or `1 / Math.sqrt(x)`; `Math.min`.
 *
 * @param step the update number, an integer >= 1
 * @param dModel the model width `D`
 * @param warmup the number of warm-up updates `w`
 * @returns the learning rate of update `step`
 */
import { notImplemented } from '../../src/course/exercise';

export function warmupRate(step: number, dModel: number, warmup: number): number {
  void [step, dModel, warmup];
  return notImplemented('warmupRate', 'exercises/06-transformer/warmup.ts');
}
