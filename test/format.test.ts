// Formatting is checked, never reviewed: the code must be exactly as Prettier would print it.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

describe('formatting', () => {
  it('prettier --check finds nothing to change (run `npm run format` to fix)', function () {
    this.timeout(120000);
    const root = path.resolve(__dirname, '..');
    const prettier = require.resolve('prettier/bin/prettier.cjs', { paths: [root] });
    const run = spawnSync(process.execPath, [prettier, '--check', '.'], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, `Prettier would reformat:\n${run.stdout}${run.stderr}`);
  });
});
