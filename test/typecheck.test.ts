// The whole project type-checks under strict settings. Run as a test so that CI counts it.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

describe('type-check', () => {
  it('tsc --noEmit reports no errors (strict)', function () {
    this.timeout(180000);
    const root = path.resolve(__dirname, '..');
    // Our pinned TypeScript 5.x, called by path: node_modules/.bin/tsc may point at tslab's fork.
    const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
    const run = spawnSync(
      process.execPath,
      [tsc, '-p', path.join(root, 'tsconfig.json'), '--noEmit'],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, `tsc found errors:\n${run.stdout}${run.stderr}`);
  });
});
