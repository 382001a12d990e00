/**
 * Type-checks a submission in the grader's process with the project's TypeScript (the compiler
 * API of `node_modules/typescript`, never `npx tsc`, which may resolve to tslab's fork). tsx and
 * the sandbox only strip types, so without this a wrong signature or a missing export would
 * surface, if at all, as a confusing runtime error.
 *
 * The submission is checked as if it sat in the repository's `exercises/` folder (a compiler host
 * serves its files there), so its imports of `../../src/...` and of packages resolve as they do
 * for a learner. A generated file per exercise assigns the answer module to the type of the
 * instructor's stub: a missing export or a different signature is a type error there.
 *
 * Policy (see README "Grading"): a syntax or type error in an answer file fails every test of
 * that exercise with the compiler's message. Errors in the learner's other files are not counted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
  type MessagePort,
} from 'node:worker_threads';
import * as ts from 'typescript';

/** Largest submission file the type check reads, in bytes. */
export const MAX_CHECKED_FILE_BYTES = 2_000_000;

const ROOT = path.resolve(__dirname, '..', '..');
const VIRTUAL_ANSWERS = path.join(ROOT, 'exercises');
const VIRTUAL_STUBS = path.join(ROOT, '.grader-stubs');

/** The compiler options answers are checked with (also used by the stubs-compile test). */
export const OPTIONS: ts.CompilerOptions = {
  strict: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
};

/** Library and package declarations parsed once per process: they are most of the work. */
const parsed = new Map<string, { mtimeMs: number; source: ts.SourceFile }>();

function isUnder(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** `answersRoot/<rel>` for a path under the virtual answers folder, else the path itself. */
function realPath(file: string, answersRoot: string, stubsRoot: string): string {
  if (isUnder(file, VIRTUAL_ANSWERS))
    return path.join(answersRoot, path.relative(VIRTUAL_ANSWERS, file));
  if (isUnder(file, VIRTUAL_STUBS)) return path.join(stubsRoot, path.relative(VIRTUAL_STUBS, file));
  return file;
}

function checkFile(answerFile: string): string {
  const base = path.basename(answerFile, '.ts');
  return (
    `import type * as Stub from './${base}';\n` +
    `import type * as Answer from '../../exercises/${path.dirname(answerFile)}/${base}';\n` +
    `declare const answer: typeof Answer;\n` +
    `export const answerMatchesTheExercise: typeof Stub = answer;\n`
  );
}

/**
 * `text` with every `@ts-nocheck`, `@ts-ignore` and `@ts-expect-error` blanked out (same length,
 * so the compiler's line and column numbers still match the learner's file): the answer is
 * type-checked as if they were not there.
 */
export function withoutDirectives(text: string): string {
  return text.replace(/@ts-(nocheck|ignore|expect-error)\b/g, (m) => ' '.repeat(m.length));
}

/** Compiler messages with the grader's paths turned into the learner's. */
function describe(d: ts.Diagnostic): string {
  let text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  text = text
    .split(`${VIRTUAL_STUBS}${path.sep}`)
    .join('exercise stub ')
    .split(`${VIRTUAL_ANSWERS}${path.sep}`)
    .join('')
    .split(`${ROOT}${path.sep}`)
    .join('');
  if (d.file && d.start !== undefined) {
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    const where = isUnder(d.file.fileName, VIRTUAL_STUBS)
      ? 'exports'
      : `${path.relative(VIRTUAL_ANSWERS, d.file.fileName)}:${line + 1}:${character + 1}`;
    return `${where}: ${text}`;
  }
  return text;
}

/**
 * Type-checks answer files `files` (`NN-slug/file.ts`) found under `answersRoot` against the stubs
 * under `stubsRoot` (default: the repository's `exercises/`). Returns, per file, its errors
 * (empty when it is fine). Files missing from `answersRoot` are not checked.
 */
export function typeCheckAnswers(
  answersRoot: string,
  files: string[],
  stubsRoot: string = VIRTUAL_ANSWERS,
): Map<string, string[]> {
  for (const f of files) {
    if (!/^\d\d-[^/]+\/[^/]+\.ts$/.test(f)) {
      throw new TypeError(
        `typeCheckAnswers: expected files like "02-scoring-functions/masked-softmax.ts", got "${f}"`,
      );
    }
  }
  const answers = path.resolve(answersRoot);
  const stubs = path.resolve(stubsRoot);
  const present = files.filter((f) => fs.existsSync(path.join(answers, f)));
  const checks = new Map(
    present
      .filter((f) => fs.existsSync(path.join(stubs, f)))
      .map((f) => [path.join(VIRTUAL_STUBS, f.replace(/\.ts$/, '.check.ts')), checkFile(f)]),
  );
  const host = ts.createCompilerHost(OPTIONS, true);
  const real = (f: string) => realPath(path.resolve(f), answers, stubs);
  // Files of the submission are checked before they are read: no links (anywhere on the path
  // below the answers folder), nothing but regular files, nothing over the size cap.
  const refused = new Map<string, string>();
  const refusal = (f: string): string | null => {
    const file = real(f);
    if (!isUnder(file, answers)) return null;
    let at = answers;
    for (const part of path.relative(answers, file).split(path.sep)) {
      at = path.join(at, part);
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(at);
      } catch {
        return null; // absent: TypeScript says so itself
      }
      if (stat.isSymbolicLink()) return 'a symbolic link';
      if (at === file && !stat.isFile()) return 'not a regular file';
      if (at === file && stat.size > MAX_CHECKED_FILE_BYTES)
        return `larger than ${MAX_CHECKED_FILE_BYTES} bytes`;
    }
    return null;
  };
  const allowed = (f: string): boolean => {
    const why = refusal(f);
    if (why) refused.set(path.relative(answers, real(f)), why);
    return why === null;
  };
  host.fileExists = (f) =>
    checks.has(path.resolve(f)) || (allowed(f) && ts.sys.fileExists(real(f)));
  host.directoryExists = (d) =>
    isUnder(path.resolve(d), VIRTUAL_STUBS) ||
    path.resolve(d) === VIRTUAL_STUBS ||
    ts.sys.directoryExists(real(d));
  host.readFile = (f) => {
    const generated = checks.get(path.resolve(f));
    if (generated !== undefined) return generated;
    if (!allowed(f)) return undefined;
    const text = ts.sys.readFile(real(f));
    // Directives that silence the compiler do not count in a submission (README "Grading").
    return text !== undefined && isUnder(real(f), answers) ? withoutDirectives(text) : text;
  };
  host.realpath = (f) => f;
  host.getSourceFile = (fileName, languageVersion) => {
    const file = path.resolve(fileName);
    const text = host.readFile(file);
    if (text === undefined) return undefined;
    const fromSubmission = isUnder(file, VIRTUAL_ANSWERS) || isUnder(file, VIRTUAL_STUBS);
    if (fromSubmission) return ts.createSourceFile(fileName, text, languageVersion, true);
    const mtimeMs = fs.statSync(file).mtimeMs;
    const cached = parsed.get(file);
    if (cached && cached.mtimeMs === mtimeMs) return cached.source;
    const source = ts.createSourceFile(fileName, text, languageVersion, true);
    parsed.set(file, { mtimeMs, source });
    return source;
  };
  const roots = [
    ...present
      .filter((f) => allowed(path.join(VIRTUAL_ANSWERS, f)))
      .map((f) => path.join(VIRTUAL_ANSWERS, f)),
    ...checks.keys(),
  ];
  const program = ts.createProgram(roots, OPTIONS, host);
  const result = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const f of present) {
    const source = program.getSourceFile(path.join(VIRTUAL_ANSWERS, f));
    const check = program.getSourceFile(path.join(VIRTUAL_STUBS, f.replace(/\.ts$/, '.check.ts')));
    const diagnostics = [
      ...(source ? program.getSyntacticDiagnostics(source) : []),
      ...(source ? program.getSemanticDiagnostics(source) : []),
      ...(check ? program.getSemanticDiagnostics(check) : []),
    ].filter((d) => d.category === ts.DiagnosticCategory.Error);
    const messages = [...new Set(diagnostics.map(describe))];
    const own = refused.get(f);
    if (own) messages.unshift(`${f}: not read, ${own}`);
    result.set(f, messages);
  }
  // A refused file anywhere (an import of a link, a device, a huge file) fails every checked file
  // that could import it: said once per file, with the file's name.
  const others = [...refused].filter(([rel]) => !present.includes(rel));
  if (others.length > 0) {
    for (const f of present) {
      result.set(f, [
        ...(result.get(f) ?? []),
        ...others.map(([rel, why]) => `${rel.split(path.sep).join('/')}: not read, ${why}`),
      ]);
    }
  }
  return result;
}

/** Limits of the type-check thread: old-generation heap (MB) and time per check (ms). */
export const TYPECHECK_LIMITS = { heapMb: 1536, timeoutMs: 120_000 };

let checker: {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
} | null = null;

function startChecker(): NonNullable<typeof checker> {
  const signal = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const child = path.join(__dirname, 'typecheck-child.ts');
  const worker = new Worker(
    `require('tsx/cjs/api').register(); require(${JSON.stringify(child)});`,
    {
      eval: true,
      workerData: { port: port2, signal },
      transferList: [port2],
      resourceLimits: { maxOldGenerationSizeMb: TYPECHECK_LIMITS.heapMb },
    },
  );
  worker.unref();
  // A worker killed by its heap limit ends with an error event; the waiting side sees no reply.
  worker.on('error', () => {});
  return { worker, port: port1, flag: new Int32Array(signal) };
}

/**
 * `typeCheckAnswers` in a worker thread with a heap cap and a time limit (the thread is ended
 * and replaced when either is exceeded), so that no submission can exhaust the grader's memory or
 * stop it through the compiler. The thread is kept between submissions: the library's and the
 * packages' declarations are parsed once. A failure fails every file with what happened.
 */
export function typeCheckAnswersIsolated(
  answersRoot: string,
  files: string[],
  stubsRoot: string = VIRTUAL_ANSWERS,
): Map<string, string[]> {
  checker ??= startChecker();
  const { worker, port, flag } = checker;
  Atomics.store(flag, 0, 0);
  worker.postMessage({ answersRoot, files, stubsRoot });
  const started = Date.now();
  let reply: { result?: [string, string[]][]; error?: string } | undefined;
  while (Date.now() - started < TYPECHECK_LIMITS.timeoutMs) {
    Atomics.wait(flag, 0, 0, 200);
    const got = receiveMessageOnPort(port);
    if (got) {
      reply = got.message as typeof reply;
      break;
    }
  }
  let failure: string;
  if (reply?.result) return new Map(reply.result);
  if (reply?.error) failure = `the type check failed: ${reply.error.slice(0, 500)}`;
  else if (Date.now() - started >= TYPECHECK_LIMITS.timeoutMs)
    failure = `the type check took longer than ${TYPECHECK_LIMITS.timeoutMs / 1000} s`;
  else failure = `the type check stopped (it ran out of its ${TYPECHECK_LIMITS.heapMb} MB?)`;
  void worker.terminate();
  checker = null;
  return new Map(files.map((f) => [f, [failure]]));
}
