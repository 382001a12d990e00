/**
 * Cross-check with real Jupyter: install the kernelspec the way `npm run kernel` does, then let
 * Debian's `jupyter nbconvert --execute` (an independent Jupyter client) run a notebook that
 * imports the course library by name. CI installs Jupyter; elsewhere these tests are not
 * registered when it is missing, and the reason is printed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { courseNotebooks } from '../../tools/notebooks/cli';
import { installKernelSpec, KERNEL_NAME } from '../../tools/notebooks/kernelspec';
import { runNotebook } from '../../tools/notebooks/runner';
import { streamText, type Notebook } from '../../tools/notebooks/nbformat';
import { notebookSchemaErrors } from '../helpers/nbschema';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'notebooks');

/** How a `jupyter nbconvert --execute` run ended, and where it wrote the executed notebook. */
interface NbRun {
  out: string;
  status: number | null;
  stderr: string;
}
const hasNbconvert =
  spawnSync('jupyter', ['nbconvert', '--version'], { encoding: 'utf8' }).status === 0;

if (!hasNbconvert && process.env.CI !== 'true') {
  console.log(
    '  (nbconvert cross-check not run: `jupyter nbconvert` is not installed; `apt-get install jupyter-nbconvert python3-nbclient jupyter-client` to run it)',
  );
} else {
  describe('real Jupyter (nbconvert) runs the notebooks with the kernel from npm run kernel', function () {
    this.timeout(120_000);
    const dataDir = mkdtempSync(join(tmpdir(), 'jupyter-data-'));
    const env = {
      ...process.env,
      JUPYTER_DATA_DIR: dataDir,
      JUPYTER_PATH: '',
      ATTENTION_FAST: '1',
    };
    /** The arguments of `jupyter nbconvert --execute` for the notebook at `path`. */
    const nbconvertArgs = (path: string, out: string, extra: string[] = []) => [
      'nbconvert',
      '--to',
      'notebook',
      '--execute',
      `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
      ...extra,
      '--output',
      out,
      path,
    ];
    /** Runs `jupyter nbconvert --execute` on the notebook at `path`, in its folder. */
    const nbconvert = (path: string, out: string, extra: string[] = []) =>
      spawnSync('jupyter', nbconvertArgs(path, out, extra), {
        cwd: dirname(path),
        env,
        encoding: 'utf8',
        timeout: 180_000,
      });
    /** The same without blocking, so that two notebooks can run at once. */
    const nbconvertAsync = (path: string, out: string) =>
      new Promise<NbRun>((resolve) => {
        const child = spawn('jupyter', nbconvertArgs(path, out), {
          cwd: dirname(path),
          env,
          timeout: 300_000,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('error', (e) => (stderr += `\n${e.message}`));
        child.on('close', (status, signal) =>
          resolve({ out, status, stderr: signal ? `${stderr}\nkilled by ${signal}` : stderr }),
        );
      });
    const fixture = (name: string) => join(FIXTURES, `${name}.ipynb`);

    before(() => {
      assert.ok(hasNbconvert, 'CI must install jupyter-nbconvert (see .ci/run)');
      installKernelSpec({ projectRoot: ROOT, dataDir });
      const list = spawnSync('jupyter', ['kernelspec', 'list', '--json'], {
        env,
        encoding: 'utf8',
      });
      assert.ok(
        KERNEL_NAME in JSON.parse(list.stdout).kernelspecs,
        `jupyter does not list the kernel: ${list.stdout}`,
      );
    });

    it('executes the passing notebook, imports src/ by name, and agrees with our runner', async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'nbconvert-')), 'passing.ipynb');
      const run = nbconvert(fixture('passing'), out);
      assert.equal(run.status, 0, run.stderr);
      const theirs: Notebook = JSON.parse(readFileSync(out, 'utf8'));
      assert.deepEqual(notebookSchemaErrors(theirs), []);
      const ours = await runNotebook(join(FIXTURES, 'passing.ipynb'), {
        outDir: mkdtempSync(join(tmpdir(), 'ours-')),
        fast: true,
      });
      const mine: Notebook = JSON.parse(readFileSync(ours.outPath!, 'utf8'));
      const stdout = (nb: Notebook) =>
        nb.cells.map((c) => (c.cell_type === 'code' ? streamText(c.outputs, 'stdout') : ''));
      assert.deepEqual(stdout(theirs), stdout(mine));
      assert.match(stdout(theirs).join(''), /0\.25 0\.75[\s\S]*fast mode: true/);
    });

    it('fails on the notebook with an error in cell 3, as our runner does', () => {
      const run = nbconvert(
        fixture('error-then-more'),
        join(mkdtempSync(join(tmpdir(), 'nbconvert-')), 'x.ipynb'),
      );
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /JSON\.parse\('\{ this is not json'\)/);
    });
    it("keeps mocha's globals out of cells: `describe` does not type-check", () => {
      const out = join(mkdtempSync(join(tmpdir(), 'nbconvert-')), 'test-globals.ipynb');
      const run = nbconvert(fixture('test-globals'), out, ['--allow-errors']);
      assert.equal(run.status, 0, run.stderr.slice(-3000));
      const executed: Notebook = JSON.parse(readFileSync(out, 'utf8'));
      const text = (i: number) => {
        const cell = executed.cells[i];
        return cell.cell_type === 'code' ? streamText(cell.outputs, 'stderr') : '';
      };
      assert.equal(text(1), '', "Node's types are there");
      assert.match(text(2), /Cannot find name 'describe'/);
    });
    // Each course notebook runs in its own Jupyter and kernel processes. Two run at a time (the
    // machine has two cores): all are queued when the first of these tests starts, and each test
    // awaits its own notebook's run.
    const notebooks = courseNotebooks();
    const runs = new Map<string, Promise<NbRun>>();
    const queueAll = () => {
      const previous: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
      notebooks.forEach((path, k) => {
        const out = join(mkdtempSync(join(tmpdir(), 'nbconvert-')), basename(path));
        const run = previous[k % 2].then(() => nbconvertAsync(path, out));
        previous[k % 2] = run;
        runs.set(path, run);
      });
    };
    for (const path of notebooks) {
      it(`executes ${basename(path)} in fast mode without errors, and keeps its metadata`, async function () {
        this.timeout(400_000); // its own run and, at worst, the one queued before it
        if (runs.size === 0) queueAll();
        const run = await runs.get(path)!;
        const out = run.out;
        assert.equal(run.status, 0, run.stderr.slice(-3000));
        const executed: Notebook = JSON.parse(readFileSync(out, 'utf8'));
        assert.deepEqual(notebookSchemaErrors(executed), []);
        // Jupyter writes the kernel's kernelspec and language_info into the notebook; committed
        // metadata that differs shows "unsaved changes" as soon as the notebook opens.
        const committed: Notebook = JSON.parse(readFileSync(path, 'utf8'));
        assert.deepEqual(executed.metadata, committed.metadata);
      });
    }
  });
}
