/**
 * `npm run release -- --out DIR [--force]`: builds the student edition of the course, the
 * repository a student receives.
 *
 * It copies the files git tracks (so build/ and node_modules/ never go), minus what only an
 * instructor may have: solutions/, hidden tests and the grader's own fixtures
 * (test/fixtures/grading/), tests that use the solutions or those fixtures, the instructor's CI
 * (.ci/) and this tool. Notebooks lose their outputs, and any cell marked
 * `"metadata": {"solution": true}` becomes a stub cell. README.md is generated from
 * tools/student-README.md, and package.json's scripts are those that work there: `npm test`
 * type-checks and grades the student's exercises.
 *
 * It refuses a non-empty DIR unless --force (which empties DIR first), and any DIR that holds
 * the repository or sits inside it outside build/: it never deletes anything outside DIR.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as prettier from 'prettier';
import { runCommand, UsageError } from './command';
import { loadSpecs } from './grading/framework';
import { joinSource, readNotebook, splitLines } from './notebooks/nbformat';
import { notebookJson } from './notebooks/runner';

const ROOT = path.resolve(__dirname, '..');

/** What to build. */
export interface ReleaseOptions {
  /** The folder to write the student edition to. */
  out: string;
  /** Empty a non-empty `out` first. Defaults to false. */
  force?: boolean;
}

/** What was built. */
export interface ReleaseSummary {
  out: string;
  /** Files written, relative to `out`. */
  files: string[];
  /** Tracked files left out, relative to the repository. */
  excluded: string[];
  /** Solution cells replaced by stubs, per notebook. */
  solutionCells: Record<string, number>;
}

/** The source a solution cell is replaced by. */
export const STUB_CELL =
  '// Your turn: write this cell yourself (the worked answer is in the instructor edition).\n';

const INSTRUCTOR_PATHS = [
  'solutions/',
  'test/fixtures/grading/',
  '.ci/',
  'tools/release.ts',
  'tools/student-README.md',
];

/** Whether a tracked file is for instructors only; `text` is its content. */
export function instructorOnly(rel: string, text: string): boolean {
  if (INSTRUCTOR_PATHS.some((p) => rel === p || rel.startsWith(p))) return true;
  // Tests that grade the reference solutions or use the grader's fixtures cannot run without them.
  return (
    rel.startsWith('test/') &&
    rel.endsWith('.ts') &&
    /\bsolutions\b|fixtures\/grading|helpers\/grading/.test(text)
  );
}

/** A notebook without outputs and with its solution cells replaced by stubs. */
export function studentNotebook(file: string): { json: string; solutions: number } {
  const nb = readNotebook(file);
  let solutions = 0;
  for (const cell of nb.cells) {
    if (cell.metadata?.solution === true) {
      solutions++;
      cell.source = splitLines(STUB_CELL);
      delete cell.metadata.solution;
    } else {
      cell.source = splitLines(joinSource(cell.source));
    }
    if (cell.cell_type === 'code') {
      cell.outputs = [];
      cell.execution_count = null;
    }
  }
  return { json: `${notebookJson(nb)}\n`, solutions };
}

/** The student README: the template with the table of chapters, exercises and points. */
async function studentReadme(): Promise<string> {
  const specs = loadSpecs(path.join(ROOT, 'graded'));
  const rows = [...new Set(specs.map((s) => s.chapter))].map((chapter) => {
    const mine = specs.filter((s) => s.chapter === chapter);
    const points = mine.reduce((sum, s) => sum + s.tests.reduce((t, x) => t + x.points, 0), 0);
    return `| ${chapter} | ${mine.map((s) => s.exercise).join(', ')} | ${points} |`;
  });
  const table = ['| chapter | exercises | points |', '| --- | --- | ---: |', ...rows].join('\n');
  const template = fs.readFileSync(path.join(__dirname, 'student-README.md'), 'utf8');
  if (!template.includes('{{chapters}}'))
    throw new Error('tools/student-README.md has no {{chapters}} placeholder');
  const options = (await prettier.resolveConfig(path.join(ROOT, 'README.md'))) ?? {};
  return prettier.format(template.replace('{{chapters}}', table), {
    ...options,
    parser: 'markdown',
  });
}

/** package.json with the scripts that work in the student edition. */
function studentPackageJson(text: string): string {
  const pkg = JSON.parse(text) as { scripts: Record<string, string> };
  delete pkg.scripts.release;
  pkg.scripts['test:library'] = pkg.scripts.test;
  pkg.scripts.test = 'npm run typecheck && npm run grade';
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/**
 * tsconfig.json without the unused-name checks: a learner who replaces a stub's body leaves its
 * `notImplemented` import unused, and work in progress should not fail `npm test` for that.
 */
function studentTsconfig(text: string): string {
  const config = JSON.parse(text) as { compilerOptions: Record<string, unknown> };
  config.compilerOptions.noUnusedLocals = false;
  config.compilerOptions.noUnusedParameters = false;
  return `${JSON.stringify(config, null, 2)}\n`;
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Checks `out` and makes it an empty folder (emptying it only with `force`). */
function prepareOut(out: string, force: boolean): void {
  if (isInside(ROOT, out))
    throw new UsageError(`--out must not contain the repository, got ${out}`);
  if (isInside(out, ROOT) && !isInside(out, path.join(ROOT, 'build'))) {
    throw new UsageError(`--out inside the repository must be under build/, got ${out}`);
  }
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory())
      throw new UsageError(`--out must be a folder, got the file ${out}`);
    const entries = fs.readdirSync(out);
    if (entries.length > 0) {
      if (!force) {
        throw new UsageError(
          `--out ${out} is not empty (${entries.length} entries); add --force to replace its contents`,
        );
      }
      for (const e of entries) fs.rmSync(path.join(out, e), { recursive: true, force: true });
    }
  }
  fs.mkdirSync(out, { recursive: true });
}

/** Builds the student edition into `opts.out`. */
export async function buildStudentEdition(opts: ReleaseOptions): Promise<ReleaseSummary> {
  if (typeof opts?.out !== 'string' || opts.out === '') {
    throw new UsageError(`expected --out DIR, got ${JSON.stringify(opts?.out)}`);
  }
  const out = path.resolve(opts.out);
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && fs.existsSync(path.join(ROOT, f)));
  prepareOut(out, opts.force ?? false);
  const summary: ReleaseSummary = { out, files: [], excluded: [], solutionCells: {} };
  const write = (rel: string, content: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
    fs.writeFileSync(path.join(out, rel), content);
    summary.files.push(rel);
  };
  for (const rel of tracked) {
    const source = path.join(ROOT, rel);
    const bytes = fs.readFileSync(source);
    if (instructorOnly(rel, bytes.toString('utf8'))) {
      summary.excluded.push(rel);
    } else if (rel === 'README.md') {
      write(rel, await studentReadme());
    } else if (rel === 'package.json') {
      write(rel, studentPackageJson(bytes.toString('utf8')));
    } else if (rel === 'tsconfig.json') {
      write(rel, studentTsconfig(bytes.toString('utf8')));
    } else if (rel.startsWith('notebooks/') && rel.endsWith('.ipynb')) {
      const nb = studentNotebook(source);
      summary.solutionCells[rel] = nb.solutions;
      write(rel, nb.json);
    } else {
      write(rel, bytes);
      fs.chmodSync(path.join(out, rel), fs.statSync(source).mode);
    }
  }
  return summary;
}

const USAGE = 'usage: npm run release -- --out DIR [--force]';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const at = argv.indexOf('--out');
  const unknown = argv.filter(
    (a, i) => a.startsWith('-') && !['--out', '--force'].includes(a) && argv[i - 1] !== '--out',
  );
  if (at < 0 || !argv[at + 1] || argv[at + 1].startsWith('--') || unknown.length > 0) {
    throw new UsageError(`expected --out DIR [--force], got ${argv.join(' ') || 'nothing'}`);
  }
  const s = await buildStudentEdition({ out: argv[at + 1], force: argv.includes('--force') });
  const stubs = Object.values(s.solutionCells).reduce((a, b) => a + b, 0);
  console.log(
    `Student edition in ${s.out}: ${s.files.length} files; left out ${s.excluded.length} ` +
      `instructor files (solutions/, hidden tests, grader fixtures and tests); ` +
      `${stubs} solution cell(s) stubbed.\nThere: npm ci && npm test`,
  );
  return 0;
}

if (require.main === module) runCommand('release', main, USAGE);
