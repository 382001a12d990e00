/**
 * Exercise 06.3: the warm-up learning-rate schedule (reference answer).
 *
 *   lrate(step) = dModel^-0.5 * min(step^-0.5, step * warmup^-1.5),  step = 1, 2, 3, ...
 *
 * @param step the update number, an integer >= 1
 * @param dModel the model width `D`
 * @param warmup the number of warm-up updates `w`
 * @returns the learning rate of update `step`
 */
export function warmupRate(step: number, dModel: number, warmup: number): number {
  if (!Number.isInteger(step) || step < 1) {
    throw new RangeError(`step: expected an integer >= 1, got ${step}`);
  }
  // rises linearly (step * warmup^-1.5) until step = warmup, then decays as step^-0.5
  return Math.pow(dModel, -0.5) * Math.min(Math.pow(step, -0.5), step * Math.pow(warmup, -1.5));
}
