/**
 * `npm run bench`: how fast this machine trains attention with the backend `initBackend` picks.
 *
 * Prints the backend's summary line, then a table: matMul throughput, a multi-head attention
 * forward + backward pass, and the two gradients that only the delegated kernels make possible on
 * wasm (embedding lookup, conv2d). On wasm every row is measured with the fixes of
 * src/backend/wasm-fixes.ts and without them (stock tfjs), which is what the fixes are worth.
 * Then it times batch grading of 30 copies of the reference solutions (wall time, time per
 * submission, and whether the gradebook gives every copy full marks).
 * Then the two training steps of the training engine (a seq2seq step and a mini-GPT step, built only
 * from `src/` parts; see bench/train-steps.ts): ms per step and examples per second.
 * Then time to target with the chapters' recipes (`src/models/recipes.ts`; chapter 03: the
 * Bahdanau model, chapter 04: Luong's global dot attention, chapter 06: the Transformer, each on
 * dates until 99.5% validation exact match; chapter 07: the ViT on MNIST and Fashion-MNIST), see
 * bench/targets.ts.
 * Progress goes to stderr, the results to stdout, and a JSON record (machine, backend, threads,
 * Node version, every row) to build/bench/latest.json or `--json <file>`.
 * `npm run bench -- peer` times the two training steps in PyTorch side by side (bench/peer.ts);
 * `-- targets [chapters]` (e.g. `targets 06`) measures only those chapters' targets;
 * `-- course [names]` runs every notebook in default and fast mode (bench/course.ts).
 * `npm run bench -- backend`, `-- train`, `-- targets` or `-- grading` runs one part; `-- profile seq2seq` (or
 * `gpt`) prints where one training step's time goes, per kernel, forward and whole step. Nothing
 * here fails on slowness: it is measured, not asserted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '../src/backend/backend';
import {
  installWasmMatMulFix,
  installWasmMissingKernels,
  uninstallWasmMatMulFix,
  uninstallWasmMissingKernels,
} from '../src/backend/wasm-fixes';
import { MultiHeadAttention } from '../src/attention/multihead';
import { finiteChecksEnabled, setFiniteChecks } from '../src/core/shapes';
import { gradeBatch } from './grading/batch';
import { formatProducts, formatProfile, profileStep } from './bench/profile';
import {
  datesTarget,
  luongTarget,
  transformerDatesTarget,
  vitTarget,
  type TargetResult,
} from './bench/targets';
import { DATES_RECIPE, TRANSFORMER_DATES_RECIPE, VIT_MNIST_RECIPE } from '../src/models/recipes';
import {
  TINY_GPT,
  TINY_SEQ2SEQ,
  miniGptStep,
  transformerStep,
  hybridVitStep,
  seq2seqStep,
  type TrainStep,
} from './bench/train-steps';
import {
  measureTrainStep,
  medianMs,
  memoryOverSteps,
  type MemoryMark,
  type TrainResult,
} from './bench/timing';
import { peerTable, runPeer } from './bench/peer';
import { courseTable, courseTiming, courseTotals } from './bench/course';
import { resolveNames } from './notebooks/cli';

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** A measurement as a table cell, or why it could not run. */
type Cell = string;

function attempt(measure: () => Cell): Cell {
  try {
    return measure();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const missing = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(message);
    if (missing !== null) return `fails: no ${missing[2]} kernel ${missing[1]}`;
    return `fails: ${message.split('\n')[0].slice(0, 60)}`;
  }
}

function matMulGflops(transposeB: boolean): Cell {
  const n = 512;
  const [a, b] = [
    tf.randomNormal([n, n], 0, 1, 'float32', 1),
    tf.randomNormal([n, n], 0, 1, 'float32', 2),
  ];
  try {
    const { ms } = medianMs(() =>
      tf.tidy(() => void tf.matMul(a, b, false, transposeB).dataSync()),
    );
    return `${((2 * n ** 3) / ms / 1e6).toFixed(1)} GFLOP/s`;
  } finally {
    tf.dispose([a, b]);
  }
}

/**
 * Self-attention at B=16, T=64, D=128, H=4; loss = sum of the output; grads of all variables and x.
 * `finiteChecks` runs it as a learner's notebook does (checks on, the default) or tuned (off).
 */
function attentionStep(finiteChecks = false): Cell {
  const [B, T, D, H] = [16, 64, 128, 4];
  const previous = finiteChecksEnabled();
  setFiniteChecks(finiteChecks);
  const mha = new MultiHeadAttention({ dModel: D, numHeads: H, seed: 0 });
  const x = tf.variable(tf.randomNormal([B, T, D], 0, 1, 'float32', 3), true, 'bench_x');
  const vars = [x, ...mha.variables()];
  try {
    const { ms, runs } = medianMs(() =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(mha.apply(x, x, x).output), vars);
        value.dataSync();
        for (const g of Object.values(grads)) g.dataSync();
      }),
    );
    return `${ms.toFixed(1)} ms (median of ${runs})`;
  } finally {
    setFiniteChecks(previous);
    x.dispose();
    mha.dispose();
  }
}

/** Gradient of an embedding lookup: a [V=1000, D=128] table, [16, 64] ids (UnsortedSegmentSum). */
function embeddingGradient(): Cell {
  const table = tf.randomNormal([1000, 128], 0, 1, 'float32', 4);
  const ids = tf.randomUniform([16, 64], 0, 1000, 'int32', 5);
  const w = tf.randomNormal([16, 64, 128], 0, 1, 'float32', 6);
  try {
    const { ms } = medianMs(() =>
      tf.tidy(() => {
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), w)))(table).dataSync();
      }),
    );
    return `${ms.toFixed(1)} ms`;
  } finally {
    tf.dispose([table, ids, w]);
  }
}

/** Input and filter gradients of a 3x3 conv2d, x [8, 32, 32, 16] -> [8, 32, 32, 32]. */
function conv2dGradients(): Cell {
  const x = tf.randomNormal([8, 32, 32, 16], 0, 1, 'float32', 7) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, 16, 32], 0, 0.1, 'float32', 8) as tf.Tensor4D;
  try {
    const { ms } = medianMs(() =>
      tf.tidy(() => {
        const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
          tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'));
        for (const g of tf.grads(loss)([x, f])) g.dataSync();
      }),
    );
    return `${ms.toFixed(1)} ms`;
  } finally {
    tf.dispose([x, f]);
  }
}

interface Row {
  measure: string;
  run: () => Cell;
  /** Which fix the row depends on, to measure it without on wasm. */
  fix: 'matMul' | 'kernels';
}

const ROWS: Row[] = [
  { measure: 'matMul 512x512x512', run: () => matMulGflops(false), fix: 'matMul' },
  { measure: 'matMul 512x512x512, transposeB', run: () => matMulGflops(true), fix: 'matMul' },
  { measure: 'attention fwd+bwd B=16 T=64 D=128 H=4', run: () => attentionStep(), fix: 'matMul' },
  {
    measure: 'same, finite checks on (the default)',
    run: () => attentionStep(true),
    fix: 'matMul',
  },
  {
    measure: 'embedding gradient, V=1000 D=128, 16x64 ids',
    run: embeddingGradient,
    fix: 'kernels',
  },
  { measure: 'conv2d gradients, 8x32x32x16 -> 32, 3x3', run: conv2dGradients, fix: 'kernels' },
];

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

/** Copies of the reference solutions graded in the batch measurement. */
const BATCH_COPIES = 30;

/**
 * Batch grading of `copies` copies of solutions/ with the default workers (one per core): wall
 * time, wall time per submission, the median time one worker spent on a submission, and whether
 * every row of the gradebook is at full marks. Nothing here is asserted: it is measured.
 */
async function batchOfSolutions(copies: number): Promise<string[][]> {
  const solutions = path.resolve(__dirname, '..', 'solutions');
  if (!fs.existsSync(solutions)) return [['batch grading', 'fails: no solutions/ here']];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-batch-'));
  try {
    const submissions = path.join(tmp, 'submissions');
    for (let i = 1; i <= copies; i++) {
      fs.cpSync(solutions, path.join(submissions, `student-${String(i).padStart(2, '0')}`), {
        recursive: true,
      });
    }
    const started = performance.now();
    const rows = await gradeBatch({
      submissions,
      out: path.join(tmp, 'results'),
      log: (line) => progress(line),
    });
    const wall = (performance.now() - started) / 1000;
    const times = rows.map((r) => r.report?.seconds ?? NaN).sort((a, b) => a - b);
    // The gradebook itself is checked, not the in-memory rows: total = possible on every line.
    const csv = fs
      .readFileSync(path.join(tmp, 'results', 'gradebook.csv'), 'utf8')
      .trim()
      .split('\r\n');
    const full = csv.slice(1).filter((line) => {
      const cells = line.split(',');
      return Number(cells.at(-3)) === Number(cells.at(-2)) && Number(cells.at(-2)) > 0;
    }).length;
    const workers = os.cpus().length;
    return [
      [`batch of ${copies} solution copies, ${workers} workers: wall time`, `${wall.toFixed(1)} s`],
      ['  wall time per submission', `${(wall / copies).toFixed(2)} s`],
      [
        '  one submission in a worker (median)',
        `${times[Math.floor(times.length / 2)].toFixed(2)} s`,
      ],
      ['  gradebook rows at full marks', `${full}/${copies}${full === copies ? '' : ' (WRONG)'}`],
    ];
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The training-step rows, by the name `npm run bench -- profile <name>` takes. */
const TRAIN_STEPS: Record<string, () => TrainStep> = {
  seq2seq: seq2seqStep,
  gpt: miniGptStep,
  transformer: transformerStep,
  vit: hybridVitStep,
};

async function trainTable(): Promise<TrainResult[]> {
  const results: TrainResult[] = [];
  for (const [key, make] of Object.entries(TRAIN_STEPS)) {
    progress(`${key} training step...`);
    results.push(measureTrainStep(make));
  }
  console.log('');
  printTable(
    ['training step (forward + backward + Adam)', 'parameters', 'ms/step', 'examples/s'],
    results.map((r) => [
      `${r.name}${r.tensorsLeaked === 0 ? '' : ` (LEAKS ${r.tensorsLeaked} tensors/step)`}`,
      r.parameters.toLocaleString('en-US'),
      `${r.msPerStep.toFixed(1)} (median of ${r.runs})`,
      r.examplesPerSecond.toFixed(0),
    ]),
  );
  return results;
}

/** Steps of the memory check, and the steps at which it reads memory. */
const MEMORY_STEPS = 1000;
const MEMORY_MARKS = [1, 500, 1000];

/** Tensor count and memory of tiny versions of both rows over 1,000 training steps. */
function memoryTable(): Array<{ row: string; flat: boolean; marks: MemoryMark[] }> {
  const rows = [
    { row: 'seq2seq (tiny shapes)', make: () => seq2seqStep(TINY_SEQ2SEQ) },
    { row: 'mini-GPT (tiny shapes)', make: () => miniGptStep(TINY_GPT) },
  ].map(({ row, make }) => {
    progress(`${row}: ${MEMORY_STEPS} training steps...`);
    const marks = memoryOverSteps(make, MEMORY_STEPS, MEMORY_MARKS);
    const first = marks[0];
    const flat = marks.every(
      (m) =>
        m.tensors === first.tensors && m.bytes === first.bytes && m.heapBytes === first.heapBytes,
    );
    return { row, flat, marks };
  });
  const mib = (b: number | null): string =>
    b === null ? 'n/a' : `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log('');
  printTable(
    [
      'memory over 1,000 steps',
      ...MEMORY_MARKS.map((s) => `step ${s}: tensors, bytes, wasm heap`),
      'flat',
    ],
    rows.map((r) => [
      r.row,
      ...r.marks.map(
        (m) => `${m.tensors}, ${m.bytes.toLocaleString('en-US')}, ${mib(m.heapBytes)}`,
      ),
      r.flat ? 'yes' : 'NO',
    ]),
  );
  return rows;
}

/** Prints where one training step's time goes: forward alone, then the whole step. */
async function profileTable(name: string | undefined): Promise<void> {
  const make = name === undefined ? undefined : TRAIN_STEPS[name];
  if (make === undefined) {
    throw new Error(
      `bench profile: expected a row name (${Object.keys(TRAIN_STEPS).join(', ')}), got ${name ?? 'nothing'}`,
    );
  }
  const step = make();
  try {
    const forward = await profileStep(step.forward);
    const whole = await profileStep(step.run);
    console.log('');
    console.log(formatProfile(`${step.name}, forward and loss`, forward));
    console.log('');
    console.log(formatProfile(`${step.name}, whole step (forward, backward, Adam)`, whole, 20));
    console.log(formatProducts(whole));
    console.log(
      `\nbackward + update: ~${(whole.wallMs - forward.wallMs).toFixed(1)} ms wall, ` +
        `${whole.kernels - forward.kernels} kernels`,
    );
  } finally {
    step.dispose();
  }
}

/**
 * Our two training steps and PyTorch's, in the same run, side by side (see bench/peer.ts). Ours
 * are measured with finite checks off, as PyTorch has none.
 */
async function peerSideBySide(): Promise<Record<string, unknown>> {
  const previous = finiteChecksEnabled();
  setFiniteChecks(false);
  const ours: Record<string, TrainResult> = {};
  try {
    for (const [key, make] of Object.entries(TRAIN_STEPS)) {
      progress(`${key} training step (ours)...`);
      ours[key] = measureTrainStep(make);
    }
  } finally {
    setFiniteChecks(previous);
  }
  const peer = runPeer({ log: progress });
  console.log('');
  console.log(peer.message);
  if (peer.blas !== undefined) {
    const built =
      peer.blas.builtWith === null ? '' : `; torch built with BLAS_INFO=${peer.blas.builtWith}`;
    console.log(
      `BLAS: ${peer.blas.sgemm ?? peer.blas.libraries.join(', ')} (${peer.blas.how})${built}`,
    );
    if (peer.blas.check !== undefined) console.log(`check: ${peer.blas.check}`);
    const env = Object.entries(peer.blas.env).map(([k, v]) => `${k}=${v}`);
    console.log(`child environment: ${env.join(' ')}`);
  }
  console.log('');
  const [header, ...rows] = peerTable(ours, peer);
  printTable(header, rows);
  console.log(
    '\nmedian wall time per step (forward, backward, Adam, loss read back) after one warm-up step;' +
      "\nours with finite checks off; CPU ms = the process's CPU time per step (less sensitive to load)",
  );
  return { ...peer, ours: Object.values(ours) };
}

/** Where the JSON record of a run goes: `--json <file>`, by default build/bench/latest.json. */
function jsonPath(args: string[]): { file: string; rest: string[] } {
  const i = args.indexOf('--json');
  if (i < 0)
    return { file: path.resolve(__dirname, '..', 'build', 'bench', 'latest.json'), rest: args };
  const file = args[i + 1];
  if (file === undefined || file.startsWith('--')) {
    throw new Error('bench: --json expects a file name, got nothing');
  }
  return { file: path.resolve(file), rest: [...args.slice(0, i), ...args.slice(i + 2)] };
}

const PARTS = ['backend', 'train', 'targets', 'grading', 'profile', 'peer', 'course'];
/** Parts that run only when asked for by name. */
const ON_REQUEST = ['profile', 'peer', 'course'];

async function main(args: string[]): Promise<void> {
  const { file, rest } = jsonPath(args);
  const parts = rest.filter((p) => PARTS.includes(p));
  const unknown = rest.filter((p) => !PARTS.includes(p));
  const profileRow = parts.includes('profile') ? unknown.shift() : undefined;
  // `course` takes notebook names or number prefixes (default: every notebook)
  const courseNames = parts.includes('course') ? unknown.splice(0) : [];
  // `targets` takes chapter numbers (default: every chapter), e.g. `targets 06`
  const chapters = parts.includes('targets') ? unknown.splice(0) : [];
  const chapterNames = ['03', '04', '06', '07'];
  const badChapter = chapters.find((c) => !chapterNames.includes(c));
  if (badChapter !== undefined) {
    throw new Error(
      `bench targets: expected chapters ${chapterNames.join(', ')}, got ${badChapter}`,
    );
  }
  const chapter = (c: string) => chapters.length === 0 || chapters.includes(c);
  if (unknown.length > 0) {
    throw new Error(
      `bench: expected parts ${PARTS.join(', ')} (profile takes a row name), got ${unknown.join(', ')}`,
    );
  }
  // No parts runs the backend, training and grading parts; the others run only when named.
  const run = (part: string) =>
    parts.length === 0 ? !ON_REQUEST.includes(part) : parts.includes(part);
  const started = performance.now();
  const info = await initBackend({ log: false });
  const record: Record<string, unknown> = {
    date: new Date().toISOString(),
    backend: info.name,
    threads: info.threads,
    fixes: info.fixes,
    summary: info.summary,
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
  };
  if (run('backend')) record.backendRows = await backendTable(info);
  if (run('train')) {
    if (!run('backend')) console.log(info.summary);
    // the memory check first, so that the wasm heap it reports is not the big rows' high-water mark
    const memory = memoryTable();
    record.train = await trainTable();
    record.memory = memory;
  }
  if (run('targets')) {
    // Twice the notebook's budget, so a slower machine still says how long the target took.
    const results: TargetResult[] = [];
    const budget = 2 * DATES_RECIPE.budgetSec;
    if (chapter('03')) {
      progress(`chapter 03: training on dates until the target or ${budget} s...`);
      results.push(await datesTarget(budget));
    }
    if (chapter('04')) {
      progress(`chapter 04: training Luong's model on dates until the target or ${budget} s...`);
      results.push(await luongTarget(budget));
    }
    const budget06 = 2 * TRANSFORMER_DATES_RECIPE.budgetSec;
    if (chapter('06')) {
      progress(
        `chapter 06: training the Transformer on dates until the target or ${budget06} s...`,
      );
      results.push(await transformerDatesTarget(budget06));
    }
    for (const variant of chapter('07') ? (['plain', 'hybrid'] as const) : []) {
      for (const dataset of ['mnist', 'fashion-mnist'] as const) {
        const vitBudget = 2 * VIT_MNIST_RECIPE.budgetSec;
        progress(
          `chapter 07: the ${variant} ViT on ${dataset} until the target or ${vitBudget} s...`,
        );
        results.push(await vitTarget(dataset, vitBudget, variant));
      }
    }
    console.log('');
    printTable(
      ['time to target (same seed)', 'target', 'reached', 'training', 'test score'],
      results.map((r) => [
        `${r.chapter}: ${r.model}`,
        r.target,
        r.reached ? 'yes' : 'no',
        `${r.seconds.toFixed(1)} s, ${r.updates} updates (${r.stoppedBy})`,
        // two decimals: a test set of 2,000 moves in steps of 0.05%, and 96.95% shown as 97.0%
        // beside "no" reads as a contradiction
        `${r.testMetric} ${(100 * r.testScore).toFixed(2)}% of ${r.testSize.toLocaleString('en-US')}`,
      ]),
    );
    record.targets = results;
  }
  if (run('profile')) {
    console.log(info.summary);
    await profileTable(profileRow);
  }
  if (run('peer')) {
    if (!run('backend') && !run('train')) console.log(info.summary);
    record.peer = await peerSideBySide();
  }
  if (run('course')) {
    progress('every notebook, in default and fast mode, one kernel at a time...');
    const rows = await courseTiming({
      notebooks: courseNames.length > 0 ? resolveNames(courseNames) : undefined,
      log: progress,
    });
    console.log('');
    const [header, ...lines] = courseTable(rows);
    printTable(header, lines);
    console.log("\npeak RSS: the kernel process's VmHWM (resident-set high-water mark)");
    record.course = { rows, totals: courseTotals(rows) };
  }
  if (run('grading')) {
    progress(`batch grading of ${BATCH_COPIES} copies of the solutions...`);
    console.log('');
    const rows = await batchOfSolutions(BATCH_COPIES);
    printTable(['grading', 'time'], rows);
    record.grading = rows;
  }
  const seconds = (performance.now() - started) / 1000;
  record.seconds = seconds;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(
    `\n${seconds.toFixed(1)} s in all; results recorded in ${path.relative(process.cwd(), file)}`,
  );
}

async function backendTable(info: BackendInfo): Promise<string[][]> {
  console.log(info.summary);
  // The bench measures the compute: finite checks off, except in the row that measures them.
  setFiniteChecks(false);

  const table: string[][] = [];
  for (const row of ROWS) {
    progress(`${row.measure}...`);
    const cells = [row.measure, attempt(row.run)];
    if (info.name === 'wasm') {
      progress(`${row.measure}, stock wasm kernels...`);
      if (row.fix === 'matMul') uninstallWasmMatMulFix();
      else uninstallWasmMissingKernels();
      try {
        cells.push(attempt(row.run));
      } finally {
        // Restore exactly what initBackend installed.
        if (info.fixes.includes('matMul')) installWasmMatMulFix();
        installWasmMissingKernels();
      }
    }
    table.push(cells);
  }

  console.log('');
  const header =
    info.name === 'wasm' ? ['measure', 'wasm with fixes', 'stock wasm'] : ['measure', info.name];
  printTable(header, table);
  console.log(`\nmedian wall time after one warm-up run; finite checks off unless the row says on`);
  return [header, ...table];
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
