/**
 * The private folder a submission runs in. The sandbox process may read only this folder and
 * `node_modules/`, so everything it needs is put here, as plain JavaScript (the permission model
 * leaves no room for tsx, which starts esbuild as a child process):
 *
 *   <dir>/exercises/NN-slug/*.js   the submission, transpiled (types stripped, never checked here)
 *   <dir>/src/**.js                the course library, so `../../src/...` imports resolve
 *   <dir>/tools/grading/*.js       the sandbox's own entry point and wire format
 *   <dir>/node_modules/attention-hands-on   points at <dir>/src, for `import ... from 'attention-hands-on'`
 *
 * Solutions, graded tests and hidden tests are never copied. The submission itself is only read:
 * symbolic links are skipped (never followed), and sizes are capped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

/** Caps on what is copied from a submission. */
export interface PrepareLimits {
  /** Files copied. Defaults to 500. */
  maxFiles: number;
  /** Bytes of one file. Defaults to 2 MB. */
  maxFileBytes: number;
  /** Folder depth below the answers folder. Defaults to 4. */
  maxDepth: number;
}

/** The default `PrepareLimits`. */
export const PREPARE_LIMITS: PrepareLimits = {
  maxFiles: 500,
  maxFileBytes: 2_000_000,
  maxDepth: 4,
};

/** A submission copied into its sandbox folder. */
export interface PreparedSubmission {
  /** The sandbox folder. */
  dir: string;
  /** Answer files found, as `NN-slug/file.ts`. */
  files: Set<string>;
  /** Files left out, with why (too big, a link, too deep). */
  skipped: string[];
  /** Removes the folder. */
  cleanup(): void;
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
};

function transpile(source: string, fileName: string): string {
  return ts.transpileModule(source, { compilerOptions: COMPILER_OPTIONS, fileName }).outputText;
}

function walk(dir: string, depth: number, maxDepth: number): string[] {
  if (depth > maxDepth) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === 'node_modules' ? [] : walk(full, depth + 1, maxDepth);
      return [full];
    });
}

let runtime: Map<string, string> | null = null;

/** The transpiled library and sandbox entry, built once per process: `relative path -> code`. */
function runtimeFiles(): Map<string, string> {
  if (runtime) return runtime;
  const files = new Map<string, string>();
  const sources = [
    ...walk(path.join(ROOT, 'src'), 0, 8).filter((f) => f.endsWith('.ts')),
    path.join(__dirname, 'sandbox-child.ts'),
    path.join(__dirname, 'wire.ts'),
  ];
  for (const file of sources) {
    const rel = path.relative(ROOT, file).replace(/\.ts$/, '.js');
    files.set(rel, transpile(fs.readFileSync(file, 'utf8'), file));
  }
  // JSON the library imports (src/package.json gives checkpoints the library version), as is.
  for (const file of walk(path.join(ROOT, 'src'), 0, 8).filter((f) => f.endsWith('.json'))) {
    files.set(path.relative(ROOT, file), fs.readFileSync(file, 'utf8'));
  }
  files.set(
    'node_modules/attention-hands-on/package.json',
    JSON.stringify({ name: 'attention-hands-on', main: '../../src/index.js' }),
  );
  runtime = files;
  return files;
}

/**
 * Copies the answers under `answersRoot` (`NN-slug/*.ts`, as in `exercises/`) into a new sandbox
 * folder, transpiled to JavaScript, next to the course library. `answersRoot` is only read.
 */
export function prepareSubmission(
  answersRoot: string,
  limits: Partial<PrepareLimits> = {},
): PreparedSubmission {
  const l = { ...PREPARE_LIMITS, ...limits };
  const root = path.resolve(answersRoot);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new Error(`prepareSubmission: expected a folder of answers, got ${answersRoot}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grader-sandbox-'));
  const write = (rel: string, content: string | Buffer) => {
    const target = path.join(dir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  };
  try {
    for (const [rel, code] of runtimeFiles()) write(rel, code);
    const files = new Set<string>();
    const skipped: string[] = [];
    let copied = 0;
    for (const file of walk(root, 0, l.maxDepth)) {
      const rel = path.relative(root, file);
      const stat = fs.lstatSync(file);
      if (!stat.isFile()) {
        skipped.push(`${rel} (not a regular file)`);
        continue;
      }
      if (stat.size > l.maxFileBytes || copied >= l.maxFiles) {
        skipped.push(
          `${rel} (${stat.size > l.maxFileBytes ? 'larger than the limit' : 'too many files'})`,
        );
        continue;
      }
      copied++;
      const content = fs.readFileSync(file);
      if (file.endsWith('.ts') && !file.endsWith('.d.ts')) {
        write(
          path.join('exercises', rel.replace(/\.ts$/, '.js')),
          transpile(content.toString('utf8'), rel),
        );
        if (/^\d\d-[^/]+\/[^/]+\.ts$/.test(rel.split(path.sep).join('/')))
          files.add(rel.split(path.sep).join('/'));
      } else {
        write(path.join('exercises', rel), content);
      }
    }
    return { dir, files, skipped, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
