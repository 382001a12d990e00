/** What exercise stubs throw until the learner writes their answer. */

/** Thrown by an exercise stub that has not been written yet. Graders score it as 0, never as a crash. */
export class NotImplementedError extends Error {
  constructor(
    readonly exercise: string,
    readonly file: string,
  ) {
    super(`${exercise} is not implemented yet: write your answer in ${file}`);
    this.name = 'NotImplementedError';
  }
}

/**
 * Throws a `NotImplementedError` naming the exercise and the file to edit. Stubs call it as their
 * whole body: `return notImplemented('maskedSoftmax', 'exercises/02-scoring-functions/masked-softmax.ts');`
 */
export function notImplemented(exercise: string, file: string): never {
  throw new NotImplementedError(exercise, file);
}
