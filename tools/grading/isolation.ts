/**
 * Operating-system isolation of a sandbox process (Linux, bubblewrap), and the command line that
 * starts one. Two layers, both always on where the OS allows the first:
 *
 * 1. **bubblewrap** (`bwrap`): new PID, network, IPC, UTS, cgroup and mount namespaces
 *    (`--unshare-all`), no capabilities, a new session (no access to the grader's terminal), killed
 *    with its parent (`--die-with-parent`). Its file system holds only, read-only: the prepared
 *    submission folder (`/sandbox`), the node binary and the shared libraries it links, and the
 *    packages the library needs (`/deps/node_modules/...`, their dependency closure, nothing else
 *    of `node_modules/`), plus a fresh `/proc` of its own PID namespace and a minimal `/dev`. No
 *    repository, no `solutions/`, no hidden tests, no host `/tmp`, no host `/proc`, no network.
 *    Resource limits (`prlimit`): CPU seconds, file size 0, no core files, processes.
 * 2. **Node's permission model** inside it: reads only of the sandbox folder and those packages;
 *    no writes, child processes, workers or native addons.
 *
 * Where bubblewrap is missing or user namespaces are denied, only layer 2 runs;
 * `isolationStatus()` says which, and the CLI refuses instructor grading in that case unless told.
 *
 * `ATTENTION_GRADER_BWRAP` overrides the bwrap binary (a path); pointing it at a missing file is
 * how the tests force the "no OS isolation" path.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');

/** The environment variable naming the bwrap binary (default: `bwrap` on the PATH, or /usr/bin). */
export const BWRAP_ENV = 'ATTENTION_GRADER_BWRAP';

/** Where the prepared submission and the packages appear inside the sandbox. */
export const SANDBOX_ROOT = '/sandbox';
const DEPS = '/deps/node_modules';

/** Packages the sandbox's library build needs at run time (their dependencies follow). */
const RUNTIME_PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'];

/** Whether sandboxes run under OS isolation, and if not, why not. */
export interface IsolationStatus {
  /** True when every sandbox runs under bubblewrap. */
  isolated: boolean;
  /** `bubblewrap` or `node-permissions-only`. */
  mode: 'bubblewrap' | 'node-permissions-only';
  /** The bwrap binary used, or why isolation is off. */
  detail: string;
}

function packageDir(name: string, from: string): string | null {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === path.dirname(dir)) return null;
  }
}

let packages: string[] | null = null;

/**
 * The folders (as `node_modules/<name>` paths under the repository, not followed through links)
 * of the packages the sandbox needs: `RUNTIME_PACKAGES` and their dependency closure. Nested
 * packages (inside another package's `node_modules/`) come with their parent's folder.
 */
export function runtimePackages(): string[] {
  if (packages) return packages;
  const found = new Set<string>();
  const visit = (name: string, from: string) => {
    const dir = packageDir(name, from);
    if (!dir || found.has(dir)) return;
    found.add(dir);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }))
      visit(dep, dir);
  };
  for (const name of RUNTIME_PACKAGES) visit(name, ROOT);
  packages = [...found]
    .filter((dir) => {
      const rel = path.relative(NODE_MODULES, dir);
      return !rel.startsWith('..') && !rel.split(path.sep).includes('node_modules');
    })
    .filter((dir) => !fs.lstatSync(dir).isSymbolicLink())
    .sort();
  return packages;
}

let libraries: string[] | null = null;

/** The node binary's shared libraries and loader (`ldd`, once), as paths to bind at the same place. */
function nodeLibraries(): string[] {
  if (libraries) return libraries;
  const run = spawnSync('ldd', [process.execPath], { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0) return [];
  const libs = new Set<string>();
  for (const line of run.stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]);
  }
  libraries = [...libs];
  return libraries;
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat('/usr/bin')) {
    const candidate = path.join(dir, name);
    if (path.isAbsolute(dir) && fs.existsSync(candidate)) return candidate;
  }
  return null;
}

function bwrapBinary(): string | null {
  const wanted = process.env[BWRAP_ENV];
  if (wanted !== undefined && wanted !== '') return fs.existsSync(wanted) ? wanted : null;
  return onPath('bwrap');
}

/** The largest process count `prlimit` may set: what this user runs now plus room, under the hard limit. */
function processLimit(): number {
  let hard = Infinity;
  try {
    const line = /^Max processes\s+(\S+)\s+(\S+)/m.exec(
      fs.readFileSync('/proc/self/limits', 'utf8'),
    );
    if (line && line[2] !== 'unlimited') hard = Number(line[2]);
  } catch {
    // not Linux
  }
  let mine = 0;
  try {
    const uid = process.getuid?.();
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) {
          mine += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
        }
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return Math.min(hard, mine + 256);
}

/** Node flags of the second layer: the permission model, reads of `readable` only. */
function nodeFlags(heapMb: number, readable: string[]): string[] {
  return [
    `--max-old-space-size=${heapMb}`,
    '--experimental-permission',
    ...readable.map((dir) => `--allow-fs-read=${path.join(dir, '*')}`),
    '--disable-warning=ExperimentalWarning',
    // Newer Node only: no inspector on SIGUSR1 (the PID namespace already keeps the grader's
    // processes out of reach of its signals).
    ...(process.allowedNodeEnvironmentFlags.has('--disable-sigusr1') ? ['--disable-sigusr1'] : []),
  ];
}

/** How to start a sandbox process for the prepared folder `dir`. */
export interface SandboxCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/** Limits the command line applies (a subset of `SandboxLimits`). */
export interface CommandLimits {
  heapMb: number;
  cpuSeconds: number;
}

/**
 * The command that starts the sandbox process of the prepared folder `dir` (`prepare.ts`):
 * under bubblewrap and prlimit when `status.isolated`, else with Node's permission model only.
 */
export function sandboxCommand(
  dir: string,
  limits: CommandLimits,
  status: IsolationStatus = isolationStatus(),
): SandboxCommand {
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) {
    throw new TypeError(`sandboxCommand: expected an absolute folder, got ${String(dir)}`);
  }
  const backend: Record<string, string> = process.env.ATTENTION_BACKEND
    ? { ATTENTION_BACKEND: process.env.ATTENTION_BACKEND }
    : {};
  const entry = (root: string) => path.join(root, 'tools', 'grading', 'sandbox-child.js');
  if (!status.isolated) {
    return {
      command: process.execPath,
      args: [...nodeFlags(limits.heapMb, [dir, ...runtimePackages()]), entry(dir)],
      // A clean environment: nothing of the grader's (paths, tokens, npm settings) leaks in.
      env: { HOME: dir, TMPDIR: dir, NODE_PATH: NODE_MODULES, ...backend },
      cwd: dir,
    };
  }
  const binds: string[] = [];
  const bind = (from: string, to: string) => binds.push('--ro-bind', from, to);
  bind(dir, SANDBOX_ROOT);
  bind(fs.realpathSync(process.execPath), '/usr/bin/node');
  for (const lib of nodeLibraries()) bind(fs.realpathSync(lib), lib);
  const deps = runtimePackages().map((pkg) => path.join(DEPS, path.relative(NODE_MODULES, pkg)));
  runtimePackages().forEach((pkg, i) => bind(fs.realpathSync(pkg), deps[i]));
  const bwrap = [
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    ...binds,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--remount-ro',
    '/',
    '--chdir',
    SANDBOX_ROOT,
    '--clearenv',
    '--setenv',
    'HOME',
    SANDBOX_ROOT,
    '--setenv',
    'TMPDIR',
    SANDBOX_ROOT,
    '--setenv',
    'NODE_PATH',
    DEPS,
    ...Object.entries(backend).flatMap(([k, v]) => ['--setenv', k, v]),
    '--',
    '/usr/bin/node',
    ...nodeFlags(limits.heapMb, [SANDBOX_ROOT, ...deps]),
    entry(SANDBOX_ROOT),
  ];
  return {
    command: onPath('prlimit') ?? 'prlimit',
    args: [
      `--cpu=${Math.ceil(limits.cpuSeconds)}`,
      '--fsize=0',
      '--core=0',
      `--nproc=${processLimit()}`,
      '--',
      status.detail,
      ...bwrap,
    ],
    env: {},
    cwd: '/',
  };
}

let cached: { key: string; status: IsolationStatus } | null = null;

/**
 * Whether sandboxes run under bubblewrap here: bwrap exists (`ATTENTION_GRADER_BWRAP` or the
 * PATH), prlimit exists, and a trial sandbox with every namespace starts node. Checked once per
 * process (per value of `ATTENTION_GRADER_BWRAP`).
 */
export function isolationStatus(): IsolationStatus {
  const key = process.env[BWRAP_ENV] ?? '';
  if (cached && cached.key === key) return cached.status;
  const off = (detail: string): IsolationStatus => ({
    isolated: false,
    mode: 'node-permissions-only',
    detail,
  });
  let status: IsolationStatus;
  const bwrap = bwrapBinary();
  if (process.platform !== 'linux') status = off(`no OS isolation on ${process.platform}`);
  else if (!bwrap)
    status = off(`bubblewrap not found${key ? ` at ${key}` : ''} (apt-get install bubblewrap)`);
  else if (!onPath('prlimit')) status = off('prlimit (util-linux) not found');
  else {
    const trial: IsolationStatus = { isolated: true, mode: 'bubblewrap', detail: bwrap };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grader-probe-'));
    try {
      const cmd = sandboxCommand(dir, { heapMb: 64, cpuSeconds: 10 }, trial);
      // The trial runs node's -e instead of the entry file: everything else is the real command.
      const args = [...cmd.args.slice(0, -1), '-e', 'process.stdout.write("isolated")'];
      const run = spawnSync(cmd.command, args, {
        cwd: cmd.cwd,
        env: cmd.env,
        encoding: 'utf8',
        timeout: 20_000,
      });
      status =
        run.stdout === 'isolated'
          ? trial
          : off(
              `bubblewrap cannot start a sandbox here (user namespaces denied?): ${(run.error?.message ?? run.stderr).trim().slice(0, 300)}`,
            );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  cached = { key, status };
  return status;
}
