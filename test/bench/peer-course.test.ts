/**
 * The parts of `npm run bench -- peer` and `-- course` that need neither Python nor notebooks:
 * parsing peer.py's answer, the side-by-side table, the "PyTorch absent" path, the choice of BLAS
 * (with fake Pythons: shell scripts that answer as peer.py would), and the course table and peak
 * memory reading.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  childPids,
  courseTable,
  courseTotals,
  parseVmHwm,
  type CourseRow,
} from '../../tools/bench/course';
import {
  agrees,
  parsePeerOutput,
  peerTable,
  pythonCandidates,
  runPeer,
  type PeerOutcome,
} from '../../tools/bench/peer';
import type { TrainResult } from '../../tools/bench/timing';

const BLAS = (kind: string, file: string) =>
  `{"kind": "${kind}", "sgemm": "${file}", "libraries": ["${file}"], "builtWith": "generic"}`;

const ROWS =
  '[{"name": "seq2seq", "batch": 128, "parameters": 194792, "msPerStep": 80.0, "cpuMsPerStep": 75.0, "runs": 15},' +
  ' {"name": "gpt", "batch": 16, "parameters": 413312, "msPerStep": 40.0, "cpuMsPerStep": 38.5, "runs": 15}]';

function ours(name: string, ms: number, cpuMs: number, parameters: number): TrainResult {
  return {
    name,
    batch: 1,
    parameters,
    msPerStep: ms,
    cpuMsPerStep: cpuMs,
    examplesPerSecond: 1000 / ms,
    runs: 3,
    tensorsLeaked: 0,
  };
}

describe('bench peer: parsing and the side-by-side table', () => {
  it('reads the last PEER_JSON line and ignores everything else', () => {
    const out = [
      'a warning from torch',
      'PEER_JSON {"error": "an older line"}',
      `PEER_JSON {"torch": "1.13.0", "threads": 1, "blas": ${BLAS('openblas', '/x/libblas.so.3')}, "rows": ${ROWS}}`,
      '',
    ].join('\n');
    const report = parsePeerOutput(out);
    assert.equal(report.error, undefined);
    assert.equal(report.torch, '1.13.0');
    assert.equal(report.blas?.kind, 'openblas');
    assert.deepEqual(
      report.rows?.map((r) => [r.name, r.msPerStep]),
      [
        ['seq2seq', 80],
        ['gpt', 40],
      ],
    );
  });

  it('says what is wrong with an answer it cannot use', () => {
    assert.throws(
      () => parsePeerOutput(''),
      /expected a line starting with "PEER_JSON", got no output/,
    );
    assert.throws(
      () => parsePeerOutput('Traceback (most recent call last):\nKeyError: 1\n'),
      /got "KeyError: 1"/,
    );
    assert.throws(() => parsePeerOutput('PEER_JSON {nope'), /expected JSON after "PEER_JSON"/);
    assert.throws(() => parsePeerOutput('PEER_JSON [1, 2]'), /expected a JSON object, got \[1,2\]/);
    assert.throws(
      () => parsePeerOutput('PEER_JSON {"rows": [{"name": "gpt", "msPerStep": 0}]}'),
      /positive msPerStep/,
    );
    assert.throws(
      () => parsePeerOutput(42 as unknown as string),
      /stdout: expected a string, got number/,
    );
  });

  it('prints both times, the ratio ours / PyTorch, CPU times, and flags a structure mismatch', () => {
    const peer = parsePeerOutput(`PEER_JSON {"rows": ${ROWS}}`);
    const outcome: PeerOutcome = { status: 'ok', message: '', tried: [], rows: peer.rows };
    const [header, ...rows] = peerTable(
      {
        seq2seq: ours('seq2seq step', 200, 190.25, 194792),
        gpt: ours('mini-GPT step', 30, 29, 413000),
      },
      outcome,
    );
    assert.equal(header.length, 6);
    // 200 / 80 = 2.5 and 30 / 40 = 0.75, by hand
    assert.deepEqual(rows[0], ['seq2seq step', '200.0', '80.0', '2.50x', '190.3, 75.0', '194,792']);
    assert.deepEqual(rows[1], [
      'mini-GPT step',
      '30.0',
      '40.0',
      '0.75x',
      '29.0, 38.5',
      '413,000 vs 413,312 (DIFFER)',
    ]);
  });

  it('leaves the PyTorch columns empty when PyTorch is absent', () => {
    const absent: PeerOutcome = { status: 'absent', message: 'PyTorch not found', tried: [] };
    const [, row] = peerTable({ gpt: ours('mini-GPT step', 30, 29, 10) }, absent);
    assert.deepEqual(row, ['mini-GPT step', '30.0', '-', '-', '29.0, -', '10']);
  });

  it('compares numbers relatively, with an absolute floor near zero', () => {
    assert.ok(agrees(117.7322, 117.7333));
    assert.ok(!agrees(117.73, 117.8));
    assert.ok(agrees(1e-9, -1e-9));
    assert.ok(!agrees(3.69, NaN));
  });
});

describe('bench peer: finding PyTorch and its BLAS (fake Pythons, no Python needed)', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-peer-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A fake python: a shell script given the body of a `case "$2"` on peer.py's mode. */
  function fakePython(name: string, body: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  }

  it("tries only ATTENTION_PEER_PYTHON when set, else Debian's python3, then PATH's", () => {
    assert.deepEqual(
      pythonCandidates({ ATTENTION_PEER_PYTHON: '/opt/py/bin/python3', PATH: dir }),
      ['/opt/py/bin/python3'],
    );
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'python'), '', { mode: 0o755 });
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    assert.deepEqual(pythonCandidates({ PATH: [empty, bin].join(path.delimiter) }), [
      '/usr/bin/python3',
      path.join(bin, 'python'),
    ]);
  });

  it('says "PyTorch not found" with every Python tried and why, and never throws', () => {
    const noTorch = fakePython(
      'no-torch',
      `echo 'PEER_JSON {"error": "cannot import torch: No module named torch", "python": "3.11.7"}'`,
    );
    const broken = fakePython('broken', 'echo "Segmentation fault" >&2; exit 139');
    const missing = path.join(dir, 'does-not-exist', 'python3');
    const outcome = runPeer({ pythons: [missing, noTorch, broken], openBlas: [] });
    assert.equal(outcome.status, 'absent');
    assert.equal(outcome.rows, undefined);
    assert.equal(
      outcome.message,
      `PyTorch not found: tried ${missing} (not found), ` +
        `${noTorch} (cannot import torch: No module named torch), ` +
        `${broken} (peer output: expected a line starting with "PEER_JSON", got no output; stderr: Segmentation fault)`,
    );
  });

  it('switches from the reference BLAS to OpenBLAS for the child when the results agree', () => {
    const openblas = path.join(dir, 'openblas');
    const python = fakePython(
      'reference-then-openblas',
      `case "$LD_LIBRARY_PATH" in
  ${openblas}*) B='${BLAS('openblas', `${openblas}/libblas.so.3`)}' ;;
  *) B='${BLAS('reference', '/usr/lib/blas/libblas.so.3')}' ;;
esac
[ "$OPENBLAS_NUM_THREADS" = 1 ] || { echo "threads not set" >&2; exit 1; }
case "$2" in
  --probe) echo "PEER_JSON {\\"torch\\": \\"1.13\\", \\"blas\\": $B, \\"matmulError\\": 1e-7, \\"losses\\": {\\"gpt\\": 4.17}}" ;;
  --run) echo "PEER_JSON {\\"torch\\": \\"1.13\\", \\"blas\\": $B, \\"rows\\": ${ROWS.replace(/"/g, '\\"')}}" ;;
esac`,
    );
    const outcome = runPeer({ pythons: [python], openBlas: [openblas] });
    assert.equal(outcome.status, 'ok', outcome.message);
    assert.equal(outcome.blas?.kind, 'openblas');
    assert.match(
      outcome.blas!.how,
      new RegExp(`^LD_LIBRARY_PATH=${openblas} for this child only$`),
    );
    assert.match(outcome.blas!.check!, /gpt 4\.170000 = 4\.170000/);
    assert.equal(outcome.rows?.length, 2);
    assert.match(outcome.message, /1 thread, openblas BLAS \(LD_LIBRARY_PATH=/);
    assert.deepEqual(outcome.tried, [{ python, result: 'torch 1.13, reference BLAS' }]);
  });

  it('keeps the reference BLAS, and says why, when OpenBLAS gives different results', () => {
    const openblas = path.join(dir, 'bad-openblas');
    const python = fakePython(
      'openblas-differs',
      `case "$LD_LIBRARY_PATH" in ${openblas}*) O=1 ;; esac
[ -n "$LD_PRELOAD" ] && O=1
if [ -n "$O" ]; then
  B='${BLAS('openblas', 'x')}'; L=4.5
else
  B='${BLAS('reference', 'y')}'; L=4.17
fi
case "$2" in
  --probe) echo "PEER_JSON {\\"blas\\": $B, \\"matmulError\\": 1e-7, \\"losses\\": {\\"gpt\\": $L}}" ;;
  --run) echo "PEER_JSON {\\"blas\\": $B, \\"rows\\": []}" ;;
esac`,
    );
    const outcome = runPeer({ pythons: [python], openBlas: [openblas] });
    assert.equal(outcome.status, 'ok');
    assert.equal(outcome.blas?.kind, 'reference');
    assert.match(outcome.blas!.how, /^the reference BLAS, 7-30x slower; OpenBLAS not used: /);
    assert.match(
      outcome.blas!.how,
      /LD_LIBRARY_PATH=\S+ for this child only: results differ \(gpt loss\)/,
    );
    assert.equal(outcome.blas?.env.LD_LIBRARY_PATH, undefined);
  });

  it('says so when the timed run calls another BLAS than the one chosen', () => {
    const python = fakePython(
      'drifting',
      `case "$2" in
  --probe) echo 'PEER_JSON {"torch": "1.13", "blas": ${BLAS('reference', 'y')}, "matmulError": 1e-7, "losses": {}}' ;;
  --run) echo 'PEER_JSON {"blas": ${BLAS('mkl', '/opt/libmkl_rt.so')}, "rows": []}' ;;
esac`,
    );
    const outcome = runPeer({ pythons: [python], openBlas: [] });
    assert.match(outcome.message, /, but the timed run called mkl BLAS \(\/opt\/libmkl_rt\.so\)$/);
  });

  it('says how to get OpenBLAS when there is none', () => {
    const python = fakePython(
      'reference-only',
      `echo 'PEER_JSON {"blas": ${BLAS('reference', 'y')}, "matmulError": 1e-7, "losses": {}, "rows": []}'`,
    );
    const outcome = runPeer({ pythons: [python], openBlas: [] });
    assert.match(outcome.blas!.how, /OpenBLAS not found \(apt-get install libopenblas0-pthread/);
  });
});

describe('bench course: peak memory and the table', () => {
  it('reads VmHWM from /proc/<pid>/status text, in MiB', () => {
    const status = 'Name:\tnode\nVmPeak:\t 2000000 kB\nVmHWM:\t  153600 kB\nVmRSS:\t  100000 kB\n';
    assert.equal(parseVmHwm(status), 150); // 153600 / 1024
    assert.equal(parseVmHwm('Name:\tkthreadd\n'), null);
    assert.throws(() => parseVmHwm(undefined as unknown as string), /status: expected the text/);
  });

  it("finds this process's children by their command line", async function () {
    if (!fs.existsSync('/proc/self/stat')) this.skip();
    const child = spawn(
      process.execPath,
      ['-e', 'setTimeout(() => {}, 20000)', 'bench-marker-7f3'],
      {
        stdio: 'ignore',
      },
    );
    try {
      await new Promise((ok) => setTimeout(ok, 200));
      assert.deepEqual(childPids('bench-marker-7f3'), [child.pid]);
      assert.deepEqual(childPids('bench-marker-7f3', child.pid!), []);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('prints each notebook per mode, then the summed times and the largest peak', () => {
    const rows: CourseRow[] = [
      { notebook: '00-a', mode: 'default', status: 'passed', seconds: 12.25, peakMiB: 400 },
      {
        notebook: '01-b',
        mode: 'default',
        status: 'failed',
        seconds: 3,
        peakMiB: 512.4,
        failure: 'runtime error in cell 4',
      },
      { notebook: '00-a', mode: 'fast', status: 'passed', seconds: 5.5, peakMiB: null },
      { notebook: '01-b', mode: 'fast', status: 'passed', seconds: 2, peakMiB: 300 },
    ];
    const table = courseTable(rows);
    assert.deepEqual(table[0], [
      'notebook',
      'default: time',
      'default: peak RSS',
      'fast: time',
      'fast: peak RSS',
    ]);
    assert.deepEqual(table[1], ['00-a', '12.3 s', '400 MiB', '5.5 s', 'n/a']);
    assert.deepEqual(table[2], [
      '01-b',
      '3.0 s (FAILED: runtime error in cell 4)',
      '512 MiB',
      '2.0 s',
      '300 MiB',
    ]);
    assert.deepEqual(courseTotals(rows), {
      default: { seconds: 15.25, peakMiB: 512.4, failed: 1 },
      fast: { seconds: 7.5, peakMiB: 300, failed: 0 },
    });
    // 12.25 + 3 = 15.25 -> "15.3"; 5.5 + 2 = 7.5
    assert.deepEqual(table[3], [
      'total',
      '15.3 s (1 failed)',
      'max 512 MiB',
      '7.5 s',
      'max 300 MiB',
    ]);
  });
});
