/**
 * The type check reads a submission as hostile (issue 12): a link (to a device, or out of the
 * folder), a special file or an oversized file is refused before it is read, with a message
 * naming it, and the check runs in a child process with a heap cap and a time limit.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_CHECKED_FILE_BYTES, typeCheckAnswersIsolated } from '../../tools/grading/typecheck';
import { SUBMISSIONS } from '../helpers/grading';

const CHAPTER = '00-minds-and-machines';
const FILE = `${CHAPTER}/entropy.ts`;

describe('type check of a hostile submission', function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'typecheck-hostile-'));
    fs.cpSync(path.join(SUBMISSIONS, 'correct'), dir, { recursive: true });
    const ch = path.join(dir, CHAPTER);
    fs.symlinkSync('/dev/zero', path.join(ch, 'zero.ts'));
    fs.symlinkSync('/etc', path.join(ch, 'etc'));
    execFileSync('mkfifo', [path.join(ch, 'fifo.ts')]);
    fs.writeFileSync(
      path.join(ch, 'huge.ts'),
      `export const x = 1;\n${'// padding\n'.repeat(MAX_CHECKED_FILE_BYTES / 10)}`,
    );
    const entropy = fs.readFileSync(path.join(ch, 'entropy.ts'), 'utf8');
    fs.writeFileSync(
      path.join(ch, 'entropy.ts'),
      `import './zero';\nimport './fifo';\nimport './huge';\nimport './etc/hostname';\n${entropy}`,
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('ignores @ts-nocheck, @ts-ignore and @ts-expect-error in answer files', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'typecheck-directives-'));
    try {
      fs.cpSync(path.join(SUBMISSIONS, 'correct'), other, { recursive: true });
      const file = path.join(other, CHAPTER, 'entropy.ts');
      fs.writeFileSync(
        file,
        `// @ts-nocheck\n${fs.readFileSync(file, 'utf8')}\n// @ts-ignore\nexport const a: number = 'x';\n` +
          `// @ts-expect-error\nexport const b: boolean = 3;\n`,
      );
      const errors = typeCheckAnswersIsolated(other, [FILE]).get(FILE)!.join('\n');
      assert.match(errors, /Type 'string' is not assignable to type 'number'/);
      assert.match(errors, /Type 'number' is not assignable to type 'boolean'/);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses links, special files and oversized files before reading them, naming each', () => {
    const started = Date.now();
    const result = typeCheckAnswersIsolated(dir, [FILE, `${CHAPTER}/hard-vs-soft.ts`]);
    const errors = result.get(FILE)!.join('\n');
    assert.match(errors, /zero\.ts: not read, a symbolic link/);
    assert.match(errors, /fifo\.ts: not read, not a regular file/);
    assert.match(
      errors,
      new RegExp(`huge\\.ts: not read, larger than ${MAX_CHECKED_FILE_BYTES} bytes`),
    );
    assert.match(
      errors,
      /etc\/hostname\.ts: not read, a symbolic link|Cannot find module '\.\/etc\/hostname'/,
    );
    assert.ok(Date.now() - started < 60_000, 'the check did not hang on the FIFO or /dev/zero');
  });
});
