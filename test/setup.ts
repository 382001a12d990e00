// Mocha root hooks: every test file runs on the backend the course would pick (or ATTENTION_BACKEND).
import { rmSync } from 'node:fs';
import { initBackend } from '../src/backend/backend';
import { courseBookDir, TEST_RUN_ENV } from './helpers/course-book';

// One id for the whole run: set in mocha's main process, inherited by its parallel workers. The
// process that names the run removes the run's shared course book when it exits.
if (process.env[TEST_RUN_ENV] === undefined) {
  process.env[TEST_RUN_ENV] = String(process.pid);
  const dir = courseBookDir();
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await initBackend();
  },
};
