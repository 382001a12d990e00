/**
 * `npm run bench -- peer`: the two training steps in PyTorch (tools/bench/peer.py), side by side
 * with ours, in the same run.
 *
 * 1. Find a Python with torch: `ATTENTION_PEER_PYTHON` alone when set, else `/usr/bin/python3`
 *    (Debian's `python3-torch`), then `python3` and `python` on PATH. Each is asked `peer.py --probe`; one
 *    that cannot import torch is reported with its reason and the next is tried.
 * 2. Find which BLAS torch calls (the library that provides `sgemm_` in that process). If it is
 *    the reference BLAS (Debian's default without OpenBLAS, 7-30x slower here), look for OpenBLAS
 *    (`ATTENTION_OPENBLAS_DIR`, then Debian's openblas-pthread/-openmp/-serial folders) and run
 *    the child with it first on `LD_LIBRARY_PATH`, else with `LD_PRELOAD`, for that child process
 *    only. It is used only if the probe then reports OpenBLAS and its numbers agree with the
 *    reference BLAS's (a product against exact sums, and each model's first loss).
 * 3. Time both steps with one thread (`torch.set_num_threads(1)`, OMP/OpenBLAS/MKL threads 1)
 *    and glibc malloc keeping freed memory (`PEER_ENV`).
 *
 * Nothing here throws for a missing or broken PyTorch: the outcome says what was tried.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainResult } from './timing';

/** The script spawned for the PyTorch side. */
export const PEER_SCRIPT = path.join(__dirname, 'peer.py');

/** The prefix of the one line of stdout that peer.py answers with. */
const MARKER = 'PEER_JSON ';

/** Which BLAS a Python process with torch calls, as peer.py reports it. */
export interface PeerBlas {
  kind: 'openblas' | 'reference' | 'mkl' | 'blis' | 'unknown';
  /** The file that provides `sgemm_` to torch, or null if that could not be found. */
  sgemm: string | null;
  /** BLAS/LAPACK libraries mapped into the process. */
  libraries: string[];
  /** `BLAS_INFO` from `torch.__config__.show()`. */
  builtWith: string | null;
}

/** One timed PyTorch training step. */
export interface PeerRow {
  /** The bench's row key: `seq2seq` or `gpt`. */
  name: string;
  batch: number;
  parameters: number;
  msPerStep: number;
  cpuMsPerStep: number;
  runs: number;
}

/** What peer.py prints, parsed: an `error`, or the torch and BLAS facts and the probe or rows. */
export interface PeerReport {
  error?: string;
  python?: string;
  torch?: string;
  executable?: string;
  threads?: number;
  blas?: PeerBlas;
  /** Probe: max relative error of a float32 product against exact float64 sums. */
  matmulError?: number;
  /** Probe: each model's first loss, from fixed seeds, without training. */
  losses?: Record<string, number>;
  /** Run: the timings. */
  rows?: PeerRow[];
}

/** Everything `bench -- peer` found out, recorded in the JSON output as `peer`. */
export interface PeerOutcome {
  status: 'ok' | 'absent' | 'failed';
  /** One line for a reader: what was used, or why there is no PyTorch timing. */
  message: string;
  /** Each Python tried, and what happened. */
  tried: { python: string; result: string }[];
  python?: string;
  torch?: string;
  blas?: PeerBlas & {
    /** How the BLAS was chosen: the system default, or the switch made for this child only. */
    how: string;
    /** The environment variables added for the child (threads and any BLAS switch). */
    env: Record<string, string>;
    /** The numerical check of the BLAS in use, if one was made. */
    check?: string;
  };
  rows?: PeerRow[];
}

/**
 * Parses peer.py's answer: the last stdout line that starts with `PEER_JSON `. Throws an error
 * that names what was wrong when there is no such line or it is not a JSON object.
 */
export function parsePeerOutput(stdout: string): PeerReport {
  if (typeof stdout !== 'string') {
    throw new TypeError(`stdout: expected a string, got ${typeof stdout}`);
  }
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(MARKER));
  if (line === undefined) {
    const tail = stdout.trim().split('\n').slice(-1)[0] ?? '';
    throw new Error(
      `peer output: expected a line starting with "${MARKER.trim()}", got ${tail === '' ? 'no output' : JSON.stringify(tail.slice(0, 120))}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(line.slice(MARKER.length));
  } catch (err) {
    throw new Error(`peer output: expected JSON after "${MARKER.trim()}", got ${String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`peer output: expected a JSON object, got ${JSON.stringify(value)}`);
  }
  const report = value as PeerReport;
  for (const row of report.rows ?? []) {
    if (typeof row.name !== 'string' || !(Number.isFinite(row.msPerStep) && row.msPerStep > 0)) {
      throw new Error(
        `peer output: expected rows with a name and a positive msPerStep, got ${JSON.stringify(row)}`,
      );
    }
  }
  return report;
}

/**
 * Pythons to try, in order, without duplicates: only `ATTENTION_PEER_PYTHON` when it is set,
 * otherwise Debian's `/usr/bin/python3`, then `python3` and `python` on `PATH`.
 */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.ATTENTION_PEER_PYTHON) return [env.ATTENTION_PEER_PYTHON];
  const list = ['/usr/bin/python3'];
  for (const name of ['python3', 'python']) {
    for (const dir of (env.PATH ?? '').split(path.delimiter).filter((d) => d !== '')) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) {
        list.push(file);
        break;
      }
    }
  }
  return [...new Set(list)];
}

/** Folders that hold an OpenBLAS `libblas.so.3`: the env override, then Debian's. */
export function openBlasDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  const dirs = [
    env.ATTENTION_OPENBLAS_DIR,
    ...['pthread', 'openmp', 'serial'].map((v) => `/usr/lib/${arch}-linux-gnu/openblas-${v}`),
  ].filter((d): d is string => d !== undefined && d !== '');
  return dirs.filter((d) => fs.existsSync(path.join(d, 'libblas.so.3')));
}

/**
 * The child's environment: one thread everywhere (torch's own is set by peer.py; OpenMP's,
 * OpenBLAS's and MKL's here), and glibc malloc told to keep freed memory: by default every tensor
 * over 128 KiB is a fresh mmap that page-faults on first touch, which measured here doubled
 * PyTorch's CPU time per step (seq2seq ~90 ms instead of 90-310, mini-GPT ~50 instead of
 * 100-130). PyTorch deployments on CPU usually get the same from jemalloc or tcmalloc.
 */
export const PEER_ENV: Record<string, string> = {
  OMP_NUM_THREADS: '1',
  OPENBLAS_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1',
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(256 * 1024 * 1024),
};

/** Runs peer.py with `args` and extra env; never throws: an unusable answer is an `error`. */
function callPeer(
  python: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  script: string,
): PeerReport {
  const child = spawnSync(python, [script, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.error) {
    const code = (child.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { error: 'not found' };
    if (code === 'ETIMEDOUT') return { error: `no answer within ${timeoutMs / 1000} s` };
    return { error: child.error.message };
  }
  try {
    return parsePeerOutput(child.stdout);
  } catch (err) {
    const stderr = child.stderr.trim().split('\n').slice(-1)[0] ?? '';
    return { error: `${(err as Error).message}${stderr ? `; stderr: ${stderr}` : ''}` };
  }
}

/** Relative agreement of two numbers, as the BLAS check uses it. */
export function agrees(a: number, b: number, tolerance = 1e-4): boolean {
  return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b));
}

/** Most a float32 product may differ from exact sums (relative) before a BLAS is refused. */
const MATMUL_TOLERANCE = 1e-5;

/** Options of `runPeer`, for tests and for `ATTENTION_PEER_PYTHON`-like overrides. */
export interface PeerOptions {
  /** Pythons to try in order; defaults to `pythonCandidates()`. */
  pythons?: string[];
  /** OpenBLAS folders to try if torch calls the reference BLAS; defaults to `openBlasDirs()`. */
  openBlas?: string[];
  /** The script; defaults to tools/bench/peer.py. */
  script?: string;
  /** Longest the probe may take (default 120 s) and the timed run (default 600 s). */
  probeTimeoutMs?: number;
  runTimeoutMs?: number;
  log?: (message: string) => void;
}

/**
 * Finds a Python with torch, chooses the BLAS (see the file comment), and times the two training
 * steps. Never throws for a missing or failing PyTorch: `status` and `message` say what happened.
 */
export function runPeer(options: PeerOptions = {}): PeerOutcome {
  const log = options.log ?? (() => undefined);
  const script = options.script ?? PEER_SCRIPT;
  const probeMs = options.probeTimeoutMs ?? 120_000;
  const tried: PeerOutcome['tried'] = [];
  for (const python of options.pythons ?? pythonCandidates()) {
    log(`PyTorch peer: probing ${python}...`);
    const probe = callPeer(python, ['--probe'], PEER_ENV, probeMs, script);
    if (probe.error !== undefined || probe.blas === undefined) {
      tried.push({ python, result: probe.error ?? 'no BLAS report' });
      continue;
    }
    tried.push({ python, result: `torch ${probe.torch}, ${probe.blas.kind} BLAS` });
    const blas = chooseBlas(
      python,
      probe,
      options.openBlas ?? openBlasDirs(),
      script,
      probeMs,
      log,
    );
    log(`PyTorch peer: timing with ${blas.kind} BLAS (${blas.how})...`);
    const run = callPeer(python, ['--run'], blas.env, options.runTimeoutMs ?? 600_000, script);
    const base = { tried, python, torch: probe.torch, blas };
    if (run.error !== undefined || run.rows === undefined) {
      return {
        ...base,
        status: 'failed',
        message: `PyTorch ${probe.torch} (${python}) failed: ${run.error ?? 'no rows'}`,
      };
    }
    // the timed process reports its own BLAS: it must be the one chosen
    const drift =
      run.blas !== undefined && run.blas.kind !== blas.kind
        ? `, but the timed run called ${run.blas.kind} BLAS (${run.blas.sgemm ?? 'unknown file'})`
        : '';
    return {
      ...base,
      status: 'ok',
      rows: run.rows,
      message: `PyTorch ${probe.torch} (${python}), 1 thread, ${blas.kind} BLAS (${blas.how})${drift}`,
    };
  }
  const list = tried.map((t) => `${t.python} (${t.result})`).join(', ');
  return { status: 'absent', tried, message: `PyTorch not found: tried ${list || 'nothing'}` };
}

/** The BLAS to time with: the default unless it is the reference BLAS and OpenBLAS checks out. */
function chooseBlas(
  python: string,
  probe: PeerReport,
  dirs: string[],
  script: string,
  timeoutMs: number,
  log: (message: string) => void,
): NonNullable<PeerOutcome['blas']> {
  const found = probe.blas!;
  const matmulOk = (p: PeerReport) => (p.matmulError ?? Infinity) <= MATMUL_TOLERANCE;
  const selfCheck = `float32 product vs exact sums: ${probe.matmulError?.toExponential(1)} relative`;
  if (found.kind !== 'reference') {
    return {
      ...found,
      how: 'the system default',
      env: PEER_ENV,
      check: `${selfCheck}${matmulOk(probe) ? '' : ' (WRONG)'}`,
    };
  }
  const refusals: string[] = [];
  for (const dir of dirs) {
    const ldPath = [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    const attempts: [string, Record<string, string>][] = [
      [`LD_LIBRARY_PATH=${dir} for this child only`, { LD_LIBRARY_PATH: ldPath }],
      [`LD_PRELOAD=${dir}/libblas.so.3 for this child only`, { LD_PRELOAD: `${dir}/libblas.so.3` }],
    ];
    for (const [how, extra] of attempts) {
      const env = { ...PEER_ENV, ...extra };
      log(`PyTorch peer: reference BLAS; trying ${how}...`);
      const other = callPeer(python, ['--probe'], env, timeoutMs, script);
      if (other.blas?.kind !== 'openblas') {
        refusals.push(`${how}: ${other.error ?? `still ${other.blas?.kind ?? 'unknown'} BLAS`}`);
        continue;
      }
      const differ = Object.entries(probe.losses ?? {}).filter(
        ([name, loss]) => !agrees(loss, other.losses?.[name] ?? NaN),
      );
      if (!matmulOk(other) || differ.length > 0) {
        refusals.push(
          `${how}: results differ (${differ.map(([n]) => `${n} loss`).join(', ') || `product error ${other.matmulError}`})`,
        );
        continue;
      }
      const losses = Object.entries(probe.losses ?? {})
        .map(([n, l]) => `${n} ${l.toPrecision(7)} = ${other.losses![n].toPrecision(7)}`)
        .join(', ');
      return {
        ...other.blas,
        how,
        env,
        check: `first losses equal to the reference BLAS's (${losses}); float32 product vs exact sums: ${other.matmulError?.toExponential(1)} relative`,
      };
    }
  }
  const why =
    dirs.length === 0
      ? 'OpenBLAS not found (apt-get install libopenblas0-pthread, or unpack it and set ATTENTION_OPENBLAS_DIR)'
      : `OpenBLAS not used: ${refusals.join('; ')}`;
  return { ...found, how: `the reference BLAS, 7-30x slower; ${why}`, env: PEER_ENV };
}

/** The side-by-side table: per row, ours and PyTorch's ms/step (wall and CPU) and the ratio. */
export function peerTable(ours: Record<string, TrainResult>, peer: PeerOutcome): string[][] {
  const header = [
    'training step',
    'ours ms/step',
    'PyTorch ms/step',
    'ours / PyTorch',
    'CPU ms: ours, PyTorch',
    'parameters',
  ];
  const rows = Object.entries(ours).map(([key, r]) => {
    const p = peer.rows?.find((row) => row.name === key);
    const params =
      p === undefined || p.parameters === r.parameters
        ? r.parameters.toLocaleString('en-US')
        : `${r.parameters.toLocaleString('en-US')} vs ${p.parameters.toLocaleString('en-US')} (DIFFER)`;
    return [
      r.name,
      r.msPerStep.toFixed(1),
      p === undefined ? '-' : p.msPerStep.toFixed(1),
      p === undefined ? '-' : `${(r.msPerStep / p.msPerStep).toFixed(2)}x`,
      `${r.cpuMsPerStep.toFixed(1)}, ${p === undefined ? '-' : p.cpuMsPerStep.toFixed(1)}`,
      params,
    ];
  });
  return [header, ...rows];
}
