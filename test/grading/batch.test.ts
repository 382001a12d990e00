/**
 * Batch grading: a folder of submissions (folders, nested folders, .zip and .tar.gz archives,
 * broken and malicious ones) becomes a gradebook with the points worked out by hand, feedback
 * files and results.json, without writing to the submissions or outside the results.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import * as yazl from 'yazl';
import {
  findAnswersRoot,
  gradeBatch,
  isSafeMemberPath,
  studentName,
  type BatchRow,
} from '../../tools/grading/batch';
import { assembleCase, HIDDEN, ROOT, TEST_LIMITS, treeHash } from '../helpers/grading';

/** Every file under `dir`, relative, with `/` separators. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

/** A zip of `files` (`archive name -> content`); `rename` swaps an equal-length name afterwards. */
async function writeZip(
  file: string,
  files: Record<string, string>,
  rename?: [string, string],
): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  let bytes = Buffer.concat(chunks);
  if (rename) {
    // yazl refuses to write "..": the bytes are patched instead, in the local and central headers.
    assert.equal(rename[0].length, rename[1].length);
    bytes = Buffer.from(bytes.toString('latin1').split(rename[0]).join(rename[1]), 'latin1');
  }
  fs.writeFileSync(file, bytes);
}

/** The files of a folder as `archive name -> content`, under `prefix`. */
function contents(dir: string, prefix: string): Record<string, string> {
  return Object.fromEntries(
    filesUnder(dir).map((f) => [`${prefix}${f}`, fs.readFileSync(path.join(dir, f), 'utf8')]),
  );
}

describe('batch grading', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batch-test-'));
  const submissions = path.join(tmp, 'submissions');
  const out = path.join(tmp, 'results');
  const escape = `escape-${path.basename(tmp)}.ts`;
  let rows: BatchRow[];
  let hashBefore: string;
  // The grader's own temporary folder for this run: mocha's parallel workers grade in other test
  // files at the same time, so what this run leaves behind is looked for here, not in the shared
  // os.tmpdir(). Forked workers inherit TMPDIR, and every sandbox folder is made under it.
  const ownTmp = path.join(tmp, 'tmpdir');
  const savedTmpdir = process.env.TMPDIR;
  const log: string[] = [];

  before(async () => {
    fs.mkdirSync(submissions);
    assembleCase('correct', path.join(submissions, 'ann'));
    const ben = assembleCase('nan');
    await writeZip(path.join(submissions, 'ben.zip'), contents(ben, 'ben-hw/exercises/'));
    const cat = assembleCase('loop-in-call');
    await tar.c(
      { gzip: true, file: path.join(submissions, 'cat.tar.gz'), cwd: cat },
      fs.readdirSync(cat),
    );
    assembleCase('exit-at-import', path.join(submissions, 'dan, "jr"', 'exercises'));
    await writeZip(
      path.join(submissions, 'eve.zip'),
      { ...contents(assembleCase('correct'), ''), [`xx/xx/${escape}`]: 'stolen' },
      [`xx/xx/${escape}`, `../../${escape}`],
    );
    fs.writeFileSync(path.join(tmp, escape), 'stolen');
    await tar.c(
      {
        gzip: true,
        file: path.join(submissions, 'fay.tgz'),
        cwd: path.join(tmp, 'submissions'),
        preservePaths: true,
      },
      [`../${escape}`],
    );
    fs.rmSync(path.join(tmp, escape));
    fs.mkdirSync(path.join(submissions, 'gus'));
    // A path that is both a file and a folder: the entry under the file cannot be unpacked.
    await writeZip(path.join(submissions, 'hal.zip'), {
      '00-minds-and-machines/entropy.ts': 'export {};',
      '00-minds-and-machines/entropy.ts/inner.ts': 'export {};',
    });
    // Names a terminal would act on, and two that differ only in case (empty: graded quickly).
    for (const name of ['ivy', 'IVY', '\u001b[2J\rjay']) fs.mkdirSync(path.join(submissions, name));
    fs.writeFileSync(path.join(submissions, 'names.txt'), 'not a submission');
    hashBefore = treeHash(submissions);
    fs.mkdirSync(ownTmp);
    process.env.TMPDIR = ownTmp;
    rows = await gradeBatch({
      submissions,
      out,
      hidden: HIDDEN,
      workers: 2,
      limits: TEST_LIMITS,
      log: (l) => log.push(l),
    }).finally(() => {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
    });
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes the gradebook with the points worked out by hand (RFC 4180 quoting)', () => {
    // Chapter 00 only, so chapters 01 to 07 are missing files (0); possible = 142 graded + 3 hidden.
    // ann: all right (4, 6, 5; hidden 3). ben: nan (softmax 3, hidden 1). cat: loop-in-call
    // (hard-vs-soft 3). dan: exit-at-import (entropy 0). eve, fay: unsafe archives. gus: empty.
    const zeros = '0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0';
    const csv = fs.readFileSync(path.join(out, 'gradebook.csv'), 'utf8');
    const lines = csv.split('\r\n');
    assert.equal(lines.pop(), '', 'the file ends with CRLF');
    // Columns in the notebooks' order (Exercise 00.1, 00.2, ...), not alphabetical.
    assert.equal(
      lines[0],
      'student,00-minds-and-machines/softmax-temperature (5),00-minds-and-machines/entropy (4),' +
        '00-minds-and-machines/hard-vs-soft (6),01-attention-pooling/kernel (8),' +
        '01-attention-pooling/nadaraya-watson (6),01-attention-pooling/leave-one-out (5),' +
        '02-scoring-functions/masked-softmax (5),02-scoring-functions/additive-scores (5),' +
        '02-scoring-functions/scaled-dot-product (8),03-bahdanau-attention/gru-step (5),' +
        '03-bahdanau-attention/attention-step (7),03-bahdanau-attention/greedy-loop (5),' +
        '04-luong-attention/general-attention (7),04-luong-attention/local-p (7),' +
        '04-luong-attention/beam-step (7),' +
        '05-self-attention/split-heads (6),05-self-attention/sinusoidal-encoding (4),' +
        '05-self-attention/causal-attention (7),' +
        '06-transformer/encoder-block (8),06-transformer/decoder-mask (5),06-transformer/warmup (4),' +
        '07-vision-transformer/patchify (7),07-vision-transformer/class-token (5),' +
        '07-vision-transformer/rollout (6),' +
        'hidden 00-minds-and-machines/softmax-temperature (3),' +
        'total,possible,note,isolation',
    );
    const row = (name: string) => lines.find((l) => l.startsWith(`${name},`)) ?? '';
    assert.equal(row('ann'), `ann,5,4,6,${zeros},3,18,145,,bubblewrap`);
    assert.equal(row('ben'), `ben,3,4,6,${zeros},1,14,145,,bubblewrap`);
    assert.equal(row('cat'), `cat,5,4,3,${zeros},3,15,145,,bubblewrap`);
    assert.equal(row('"dan, ""jr"""'), `"dan, ""jr""",5,0,6,${zeros},3,14,145,,bubblewrap`);
    assert.match(
      row('eve'),
      // yauzl rejects the name before our own check would: either way, nothing is unpacked.
      /^eve,(0,){26}145,"?not graded: (unsafe path in archive|invalid relative path): .*\.\.\/\.\.\/escape-/,
    );
    assert.match(
      row('fay'),
      /^fay,(0,){26}145,"not graded: unsafe path in archive: ""\.\.\/escape-/,
    );
    assert.match(row('gus'), /^gus,(0,){26}145,not graded: no chapter folders \(NN-slug\/\) found/);
    assert.match(
      row('hal'),
      /^hal,(0,){26}145,"?not graded: cannot unpack .*entropy\.ts\/inner\.ts/,
    );
    // Control characters escaped; ivy and IVY kept apart by the hash of their raw names.
    assert.match(row('\\x1b[2J\\x0djay'), /no chapter folders/);
    assert.ok(!/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(csv));
    const ivys = lines.filter((l) => /^ivy #[0-9a-f]{8},/i.test(l));
    assert.equal(ivys.length, 2);
    assert.notEqual(ivys[0].split(',')[0].toLowerCase(), ivys[1].split(',')[0].toLowerCase());
    assert.equal(lines.length, 12, 'names.txt is not a submission');
    assert.ok(log.some((l) => /skipped names\.txt/.test(l)));
  });

  it('writes one feedback file per student and results.json', () => {
    const files = filesUnder(path.join(out, 'feedback')).sort();
    const plain = ['ann', 'ben', 'cat', 'dan___jr_', 'eve', 'fay', 'gus', 'hal'];
    assert.deepEqual(
      files.filter((f) => plain.includes(f.replace(/\.md$/, ''))),
      plain.map((n) => `${n}.md`),
    );
    // One file per student, none differing only in case; each row names its own.
    assert.equal(files.length, 11);
    assert.equal(new Set(files.map((f) => f.toLowerCase())).size, 11);
    assert.deepEqual(
      rows.map((r) => r.feedbackFile).sort(),
      files.map((f) => path.join('feedback', f)).sort(),
    );
    const cat = fs.readFileSync(path.join(out, 'feedback', 'cat.md'), 'utf8');
    assert.match(cat, /^# Feedback for cat\n\n\*\*Total: 15\/145 points\*\*/);
    assert.match(
      cat,
      /❌ hardSelect: one-hot weights at the highest score \(0\/1\)\n\n {2}```text\n {2}hardSelect\(\.\.\.\): your code timed out after 2 s/,
    );
    assert.match(cat, /## Hidden tests, chapter 00-minds-and-machines/);
    const results = JSON.parse(
      fs.readFileSync(path.join(out, 'results.json'), 'utf8'),
    ) as BatchRow[];
    assert.deepEqual(
      results.map((r) => [r.student, r.earned]),
      rows.map((r) => [r.student, r.earned]),
    );
  });

  it('never writes to the submissions or outside the results folder', () => {
    assert.equal(treeHash(submissions), hashBefore);
    assert.ok(!fs.existsSync(path.join(tmp, escape)));
    assert.ok(!fs.existsSync(path.join(os.tmpdir(), escape)));
  });

  it('leaves no temporary folder and no sandbox process behind', async () => {
    // (tsx, which runs the workers, keeps its compile cache there too: `tsx-<uid>`.)
    const left = fs.readdirSync(ownTmp).filter((f) => /^grader-(batch|sandbox|probe)-/.test(f));
    assert.deepEqual(left, []);
    // Workers and sandboxes of this run: batch-worker.ts, bwrap (binding our node_modules) and
    // sandbox-child.js, each with this repository's path on its command line and this run's
    // temporary folder on its command line (bwrap, binding its sandbox folder) or in its
    // environment (the workers' TMPDIR, the sandboxed child's HOME and TMPDIR).
    const sandboxes = () =>
      fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
        .filter((p) => {
          try {
            const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
            if (!(argv.includes(ROOT) && /batch-worker\.ts|sandbox-child\.js|bwrap/.test(argv))) {
              return false;
            }
            return (
              argv.includes(ownTmp) ||
              fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes(ownTmp)
            );
          } catch {
            return false;
          }
        });
    const deadline = Date.now() + 10_000;
    while (sandboxes().length > 0 && Date.now() < deadline)
      await new Promise((ok) => setTimeout(ok, 200));
    assert.deepEqual(sandboxes(), []);
  });

  it('prints progress per submission', () => {
    for (const student of ['ann', 'ben', 'cat', 'dan, "jr"', 'eve', 'fay', 'gus', 'hal']) {
      assert.ok(
        log.some((l) => new RegExp(`^\\[\\d+/11\\] ${student.replace(/[()]/g, '\\$&')}: `).test(l)),
        student,
      );
    }
    for (const line of log) assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(line), line);
  });
});

describe('batch grading helpers', () => {
  it('names students after their folder or archive', () => {
    const cases: [string, string][] = [
      ['alice', 'alice'],
      ['bob.zip', 'bob'],
      ['carol.tar.gz', 'carol'],
      ['dan.TGZ', 'dan'],
      ['eve.v2.zip', 'eve.v2'],
    ];
    for (const [entry, name] of cases) assert.equal(studentName(entry), name);
  });

  it('accepts only archive paths that stay inside the folder', () => {
    const cases: [string, boolean][] = [
      ['00-x/a.ts', true],
      ['hw/exercises/00-x/a.ts', true],
      ['../a.ts', false],
      ['a/../../b.ts', false],
      ['/etc/passwd', false],
      ['C:/x.ts', false],
      ['a\\..\\b.ts', false],
      ['', false],
    ];
    for (const [name, safe] of cases) assert.equal(isSafeMemberPath(name), safe, name);
  });

  it('finds the chapter folders at the top, under exercises/ or one folder down', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'answers-root-'));
    for (const rel of [
      'a/00-x',
      'b/exercises/00-x',
      'c/hw/exercises/00-x',
      'd/one/two/three/00-x',
    ]) {
      fs.mkdirSync(path.join(tmp, rel), { recursive: true });
    }
    assert.equal(findAnswersRoot(path.join(tmp, 'a')), path.join(tmp, 'a'));
    assert.equal(findAnswersRoot(path.join(tmp, 'b')), path.join(tmp, 'b', 'exercises'));
    assert.equal(findAnswersRoot(path.join(tmp, 'c')), path.join(tmp, 'c', 'hw', 'exercises'));
    assert.throws(() => findAnswersRoot(path.join(tmp, 'd')), /no chapter folders/);
    fs.rmSync(tmp, { recursive: true });
  });
});
