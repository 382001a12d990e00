// Mocha root hooks: every test file runs on the backend the course would pick (or ATTENTION_BACKEND).
import { initBackend } from '../src/backend/backend';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await initBackend();
  },
};
