/**
 * Grades one attack of test/fixtures/grading/attacks/ in THIS process and prints a JSON summary
 * on stdout: run as a child process by test/grading/escape.test.ts for the attacks that aim at
 * the grading process itself (signals), so that an escape costs this process, not the runner.
 *
 *   tsx test/grading/grade-attack.ts ANSWERS_DIR [EXERCISE]   (default: softmax)
 */
import * as inspector from 'node:inspector';
import { initBackend } from '../../src/backend/backend';
import { gradeSubmission } from '../../tools/grading/grade';

async function main(): Promise<void> {
  const answers = process.argv[2];
  if (!answers) throw new Error('usage: grade-attack.ts ANSWERS_DIR');
  await initBackend({ log: false });
  const report = gradeSubmission({
    answers,
    chapter: '00',
    exercise: process.argv[3] ?? 'softmax',
    limits: { callMs: 5000, loadMs: 5000 },
  });
  // Give a signal or a connection that was sent the time to arrive.
  await new Promise((ok) => setTimeout(ok, 500));
  process.stdout.write(
    JSON.stringify({
      earned: report.earned,
      possible: report.possible,
      isolation: report.isolation,
      inspector: inspector.url() ?? null,
      feedback: report.exercises.flatMap((e) => e.tests.map((t) => t.feedback)),
    }),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(String(error));
    process.exit(1);
  },
);
