/**
 * Batch grading for instructors: `npm run grade -- --batch SUBMISSIONS_DIR --out RESULTS_DIR`.
 *
 * Each entry of SUBMISSIONS_DIR is one student: a folder (a copy of `exercises/`, or a folder
 * holding one, e.g. `alice/exercises/...`) or an archive of one (`.zip`, `.tar.gz`, `.tgz`),
 * named after the student. Submissions are graded in parallel by worker processes (one per core
 * by default), each grading one submission at a time with the sandboxed grader; archives are
 * unpacked into a temporary folder first, and nothing in SUBMISSIONS_DIR is ever written.
 *
 * RESULTS_DIR gets `gradebook.csv` (one row per student, one column per exercise and per hidden
 * exercise, total, possible, note), `feedback/<student>.md` and `results.json`. A broken
 * submission gets a row with a note; it never stops the batch.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import * as yauzl from 'yauzl';
import { IsolationError, type GradeOptions, type SubmissionReport } from './grade';
import { isolationStatus, type IsolationStatus } from './isolation';
import { distinctNames, inert } from './inert';
import { csvText, feedbackMarkdown } from './report';
import type { SandboxLimits } from './sandbox';

/** What to grade and where to write. */
export interface BatchOptions {
  /** The folder of submissions (folders and archives). */
  submissions: string;
  /** Where results go (created if missing). */
  out: string;
  /** Hidden tests, laid out like `graded/`. */
  hidden?: string;
  /** Submissions graded at once. Defaults to `os.cpus().length`. */
  workers?: number;
  /** The graded tests. Defaults to the repository's `graded/`. */
  graded?: string;
  /** Sandbox limits, passed to every submission. */
  limits?: Partial<SandboxLimits>;
  /** Time per submission, in ms (see `GradeOptions.submissionMs`). */
  submissionMs?: number;
  /** Where progress lines go. Defaults to `console.log`. */
  log?: (line: string) => void;
  /**
   * Grade even where the sandboxes cannot be isolated by the OS (see `isolation.ts`); every row is
   * then marked `node-permissions-only`. Defaults to false: the batch refuses to start.
   */
  allowUnisolated?: boolean;
}

/** One student's outcome. */
export interface BatchRow {
  /** The student's name as shown: see `distinctNames` (control characters escaped, never merged). */
  student: string;
  /** The submission entry, relative to the submissions folder (control characters escaped). */
  entry: string;
  /** The feedback file written for the student, relative to the results folder. */
  feedbackFile?: string;
  earned: number;
  possible: number;
  /** Why the submission could not be graded at all (no exercises folder, a broken archive...). */
  note?: string;
  /** How its sandboxes were isolated: `bubblewrap` or `node-permissions-only`. */
  isolation: IsolationStatus['mode'];
  report?: SubmissionReport;
}

/** Caps on unpacking an archive (zip bombs, huge files). */
const ARCHIVE_LIMITS = { maxEntries: 2000, maxFileBytes: 2_000_000, maxTotalBytes: 50_000_000 };

const ARCHIVE = /\.(zip|tar\.gz|tgz)$/i;

/** A student's name from a folder or archive name: `alice.tar.gz` -> `alice`. */
export function studentName(entry: string): string {
  return entry.replace(ARCHIVE, '');
}

/** A file name for the student's feedback: only letters, digits, `.`, `_` and `-`. */
function safeFileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe.slice(0, 100) || '_';
}

/** Whether `name` (an archive member) stays inside the folder it is unpacked into. */
export function isSafeMemberPath(name: string): boolean {
  if (name === '' || name.includes('\0') || name.includes('\\')) return false;
  if (path.posix.isAbsolute(name) || /^[A-Za-z]:/.test(name)) return false;
  return !name.split('/').some((part) => part === '..');
}

async function unzip(file: string, dest: string): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((ok, fail) =>
    yauzl.open(file, { lazyEntries: true, validateEntrySizes: true }, (err, z) =>
      err ? fail(err) : ok(z),
    ),
  );
  let entries = 0;
  let total = 0;
  await new Promise<void>((ok, fail) => {
    const stop = (error: Error) => {
      zip.close();
      fail(error);
    };
    zip.on('error', fail);
    zip.on('end', ok);
    zip.on('entry', (entry: yauzl.Entry) => {
      // Any throw here (a path that is both a file and a folder, say) would escape the promise
      // and end the whole batch: every step reports to `stop` instead.
      try {
        const name = entry.fileName;
        if (!isSafeMemberPath(name))
          return stop(new Error(`unsafe path in archive: ${JSON.stringify(name)}`));
        if (++entries > ARCHIVE_LIMITS.maxEntries)
          return stop(new Error(`more than ${ARCHIVE_LIMITS.maxEntries} entries`));
        const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
        if (name.endsWith('/') || (mode !== 0 && mode !== 0o100000)) return zip.readEntry(); // folders, links
        total += entry.uncompressedSize;
        if (
          entry.uncompressedSize > ARCHIVE_LIMITS.maxFileBytes ||
          total > ARCHIVE_LIMITS.maxTotalBytes
        ) {
          return stop(new Error(`${name} unpacks to more than the size limit`));
        }
        const target = path.join(dest, name);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        zip.openReadStream(entry, (err, stream) => {
          if (err) return stop(err);
          pipeline(stream, createWriteStream(target, { flags: 'wx' })).then(
            () => zip.readEntry(),
            stop,
          );
        });
      } catch (error) {
        stop(
          new Error(
            `cannot unpack ${JSON.stringify(entry.fileName)}: ${(error as Error).message} ` +
              '(a path that is both a file and a folder?)',
          ),
        );
      }
    });
    zip.readEntry();
  });
}

async function untar(file: string, dest: string): Promise<void> {
  let entries = 0;
  let total = 0;
  let problem: string | null = null;
  await tar.x({
    file,
    cwd: dest,
    strict: true,
    // tar refuses absolute and `..` paths itself; the filter also drops links and devices.
    filter: (p, entry) => {
      const e = entry as tar.ReadEntry;
      if (!isSafeMemberPath(p.replace(/^\.\//, '')))
        problem ??= `unsafe path in archive: ${JSON.stringify(p)}`;
      if (++entries > ARCHIVE_LIMITS.maxEntries)
        problem ??= `more than ${ARCHIVE_LIMITS.maxEntries} entries`;
      total += e.size ?? 0;
      if ((e.size ?? 0) > ARCHIVE_LIMITS.maxFileBytes || total > ARCHIVE_LIMITS.maxTotalBytes) {
        problem ??= `${p} unpacks to more than the size limit`;
      }
      return problem === null && (e.type === 'File' || e.type === 'Directory');
    },
  });
  if (problem) throw new Error(problem);
}

/**
 * The folder inside `dir` that holds the chapter folders (`NN-slug/`): `dir` itself, or a
 * folder one or two levels down when it is the only way in (`alice/exercises/...`).
 */
export function findAnswersRoot(dir: string, depth = 0): string {
  const entries = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== '__MACOSX');
  if (entries.some((e) => /^\d\d-/.test(e.name))) return dir;
  const exercises = entries.find((e) => e.name === 'exercises');
  const next = exercises ?? (entries.length === 1 ? entries[0] : undefined);
  if (next && depth < 2) return findAnswersRoot(path.join(dir, next.name), depth + 1);
  throw new Error('no chapter folders (NN-slug/) found: expected a copy of exercises/');
}

/** A pool of grading processes; each grades one submission at a time. */
class WorkerPool {
  private idle: ChildProcess[] = [];
  private waiters: ((w: ChildProcess) => void)[] = [];
  private all = new Set<ChildProcess>();

  constructor(private readonly size: number) {}

  private spawn(): ChildProcess {
    const worker = fork(path.join(__dirname, 'batch-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.all.add(worker);
    worker.once('exit', () => this.all.delete(worker));
    return worker;
  }

  async grade(options: GradeOptions): Promise<SubmissionReport> {
    const worker =
      this.idle.pop() ??
      (this.all.size < this.size
        ? this.spawn()
        : await new Promise<ChildProcess>((ok) => this.waiters.push(ok)));
    try {
      return await new Promise<SubmissionReport>((ok, fail) => {
        const onExit = (code: number | null) =>
          fail(new Error(`the grading process stopped (exit ${code})`));
        worker.once('exit', onExit);
        worker.once('message', (m: { report?: SubmissionReport; error?: string }) => {
          worker.off('exit', onExit);
          if (m.report) ok(m.report);
          else fail(new Error(m.error ?? 'no report'));
        });
        worker.send(options);
      });
    } finally {
      const next = this.all.has(worker) ? worker : null;
      const waiter = this.waiters.shift();
      if (waiter) waiter(next ?? this.spawn());
      else if (next) this.idle.push(next);
    }
  }

  close(): void {
    for (const w of this.all) w.kill();
  }
}

/**
 * Grades every submission in `opts.submissions` and writes the gradebook, feedback files and
 * results.json to `opts.out`. Returns one row per student, in name order.
 */
export async function gradeBatch(opts: BatchOptions): Promise<BatchRow[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const workers = opts.workers ?? os.cpus().length;
  if (!Number.isInteger(workers) || workers < 1)
    throw new RangeError(`gradeBatch: workers must be an integer >= 1, got ${workers}`);
  if (!fs.existsSync(opts.submissions) || !fs.statSync(opts.submissions).isDirectory()) {
    throw new Error(`gradeBatch: expected a folder of submissions, got ${opts.submissions}`);
  }
  const isolation = isolationStatus();
  if (!isolation.isolated && !opts.allowUnisolated) throw new IsolationError(isolation);
  const started = Date.now();
  const all = fs
    .readdirSync(opts.submissions, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => a.name.localeCompare(b.name));
  // Stray files (notes, a CSV of names) are not submissions: said once, not graded as zeros.
  const entries = all.filter((e) => e.isDirectory() || (e.isFile() && ARCHIVE.test(e.name)));
  for (const e of all.filter((x) => !entries.includes(x))) {
    log(`skipped ${inert(e.name, true)}: not a folder, .zip, .tar.gz or .tgz`);
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'grader-batch-'));
  const pool = new WorkerPool(workers);
  log(`Grading ${entries.length} submission(s) from ${opts.submissions} with ${workers} worker(s)`);
  let done = 0;
  const students = distinctNames(entries.map((e) => studentName(e.name)));
  try {
    const rows = await Promise.all(
      entries.map(async (e, i): Promise<BatchRow> => {
        const student = students[i];
        const row: BatchRow = {
          student,
          entry: inert(e.name, true),
          earned: 0,
          possible: 0,
          isolation: isolation.mode,
        };
        const source = path.join(opts.submissions, e.name);
        try {
          let folder = source;
          if (!e.isDirectory()) {
            folder = path.join(scratch, String(i));
            fs.mkdirSync(folder);
            await (/\.zip$/i.test(e.name) ? unzip(source, folder) : untar(source, folder));
          }
          const report = await pool.grade({
            answers: findAnswersRoot(folder),
            hidden: opts.hidden,
            graded: opts.graded,
            limits: opts.limits,
            submissionMs: opts.submissionMs,
            requireIsolation: !opts.allowUnisolated,
          });
          Object.assign(row, {
            earned: report.earned,
            possible: report.possible,
            isolation: report.isolation,
            report,
          });
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          row.note = inert(`not graded: ${why.slice(0, 2000)}`, true);
        }
        done++;
        const time = row.report ? ` (${row.report.seconds.toFixed(1)} s)` : '';
        log(
          inert(
            `[${done}/${entries.length}] ${student}: ${row.note ?? `${row.earned}/${row.possible}`}${time}`,
            true,
          ),
        );
        return row;
      }),
    );
    writeResults(rows, opts.out);
    log(
      `Wrote ${path.join(opts.out, 'gradebook.csv')} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return rows;
  } finally {
    pool.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function writeResults(rows: BatchRow[], out: string): void {
  const graded = rows.find((r) => r.report)?.report;
  const columns = (results: SubmissionReport['exercises'], prefix: string) =>
    results.map((e) => ({ key: `${prefix}${e.chapter}/${e.exercise}`, possible: e.possible }));
  const visible = graded ? columns(graded.exercises, '') : [];
  const hidden = graded ? columns(graded.hidden, 'hidden ') : [];
  const possible = graded?.possible ?? 0;
  const header = [
    'student',
    ...[...visible, ...hidden].map((c) => `${c.key} (${c.possible})`),
    'total',
    'possible',
    'note',
    'isolation',
  ];
  const lines: (string | number)[][] = [header];
  for (const row of rows) {
    const points = new Map<string, number>();
    for (const e of row.report?.exercises ?? []) points.set(`${e.chapter}/${e.exercise}`, e.earned);
    for (const e of row.report?.hidden ?? [])
      points.set(`hidden ${e.chapter}/${e.exercise}`, e.earned);
    lines.push([
      row.student,
      ...[...visible, ...hidden].map((c) => points.get(c.key) ?? 0),
      row.earned,
      row.report?.possible ?? possible,
      row.note ?? '',
      row.isolation,
    ]);
  }
  fs.mkdirSync(path.join(out, 'feedback'), { recursive: true });
  fs.writeFileSync(path.join(out, 'gradebook.csv'), csvText(lines));
  // File names compared without case (case-insensitive file systems): a name already taken, or
  // one that a different student's name also becomes, gets the hash of the raw entry.
  const used = new Set<string>();
  for (const row of rows) {
    let name = safeFileName(row.student);
    if (used.has(name.toLowerCase()))
      name = `${name.slice(0, 90)}-${createHash('sha256').update(row.entry).digest('hex').slice(0, 8)}`;
    while (used.has(name.toLowerCase())) name += '_';
    used.add(name.toLowerCase());
    row.feedbackFile = path.join('feedback', `${name}.md`);
    const text = row.report
      ? feedbackMarkdown(row.student, row.report)
      : `# Feedback for ${inert(row.student, true)}\n\n${inert(row.note ?? '', true)}\n`;
    fs.writeFileSync(path.join(out, row.feedbackFile), text);
  }
  fs.writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(rows, null, 2)}\n`);
}
