/**
 * One grading process of batch grading (`batch.ts` starts one per worker): receives
 * `GradeOptions` over IPC, grades that submission with the sandboxed grader, sends the report
 * back, and waits for the next one. A process per worker keeps submissions graded in parallel
 * apart, and one that crashes costs only its current submission.
 */
import { initBackend } from '../../src/backend/backend';
import { gradeSubmission, type GradeOptions } from './grade';

const ready = initBackend({ log: false });

process.on('message', (options: GradeOptions) => {
  ready
    .then(() => ({ report: gradeSubmission(options) }))
    .catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }))
    .then((reply) => process.send!(reply));
});
process.on('disconnect', () => process.exit(0));
