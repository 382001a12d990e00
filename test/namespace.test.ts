// The learner's namespace: what `import * as ah from 'attention-hands-on'` exposes. The names the
// course uses are read from the notebooks, exercises and solutions, so this cannot drift from them;
// plumbing stays importable by path (tools and tests) but out of `ah.`.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import * as ah from '../src';

const ROOT = path.resolve(__dirname, '..');
const INDEX = path.join(ROOT, 'src', 'index.ts');

/**
 * Every `ah.name` in the notebooks (code, and prose that tells learners what to call), their
 * README, and the exercise and solution files.
 */
function courseNames(): Map<string, string> {
  const found = new Map<string, string>(); // name -> first file that uses it
  const scan = (text: string, where: string): void => {
    for (const m of text.matchAll(/\bah\.([A-Za-z_$][\w$]*)/g)) {
      if (!found.has(m[1])) found.set(m[1], where);
    }
  };
  const notebooks = path.join(ROOT, 'notebooks');
  for (const f of fs.readdirSync(notebooks).filter((n) => n.endsWith('.ipynb'))) {
    const nb = JSON.parse(fs.readFileSync(path.join(notebooks, f), 'utf8')) as {
      cells: { source: string | string[] }[];
    };
    for (const cell of nb.cells) {
      scan(Array.isArray(cell.source) ? cell.source.join('') : cell.source, `notebooks/${f}`);
    }
  }
  scan(fs.readFileSync(path.join(notebooks, 'README.md'), 'utf8'), 'notebooks/README.md');
  for (const dir of ['exercises', 'solutions']) {
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.ts'))
          scan(fs.readFileSync(full, 'utf8'), path.relative(ROOT, full));
      }
    };
    walk(path.join(ROOT, dir));
  }
  return found;
}

/** Names exported by `src/index.ts`, types included (notebooks write `ah.Figure`, `ah.KernelName`). */
function barrelExports(): Set<string> {
  // Only the library's own files, without tfjs's declarations or the default lib: exports of
  // re-exported modules resolve among them, and the program loads in a fraction of the time.
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.ts')) files.push(full);
    }
  };
  walk(path.join(ROOT, 'src'));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    noResolve: true,
    noLib: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(INDEX);
  assert.ok(source, 'src/index.ts was not loaded');
  const moduleSymbol = checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol, 'src/index.ts is not a module');
  return new Set(checker.getExportsOfModule(moduleSymbol).map((s) => s.getName()));
}

/** Modules that are plumbing through and through: none of their exports may reach `ah.`. */
const PLUMBING_MODULES = [
  'backend/wasm-fixes',
  'core/describe',
  'core/compare',
  'course/exercise',
  'viz/png',
];

/** Plumbing names from files that also hold learner API, each with the module that keeps it. */
const PLUMBING_NAMES: [string, string][] = [
  ['parseBackendSummary', 'backend/backend'],
  ['BACKEND_ENV_VAR', 'backend/backend'],
  ['setFiniteChecks', 'core/shapes'],
  ['finiteChecksEnabled', 'core/shapes'],
  ['engineDepths', 'train/interrupt'],
  ['beginRun', 'train/interrupt'],
  ['currentTask', 'train/interrupt'],
  ['endInterruptedBars', 'viz/progress'],
  ['setDisplaySink', 'viz/display'],
  ['colorscaleFor', 'viz/colormap'],
  ['checkColormap', 'viz/colormap'],
  ['FAST_ENV_VAR', 'course/fast-mode'],
  ['gradeChapter', 'course/self-check'],
  ['selfCheckText', 'course/self-check'],
];

describe('the learner namespace (ah.)', function () {
  this.timeout(60000);
  const barrel = ah as unknown as Record<string, unknown>;
  const load = (module: string): Record<string, unknown> =>
    require(path.join(ROOT, 'src', module)) as Record<string, unknown>;

  it('has every name the notebooks, exercises and solutions use, values and types', () => {
    const used = courseNames();
    assert.ok(used.size >= 40, `expected the notebooks to use many ah. names, found ${used.size}`);
    for (const must of [
      'initBackend',
      'byMode',
      'selfCheck',
      'recoverFromInterrupt',
      'showFigure',
    ]) {
      assert.ok(used.has(must), `the notebooks no longer use ah.${must}; update this test`);
    }
    const exported = barrelExports();
    const missing = [...used].filter(([name]) => !exported.has(name));
    assert.deepEqual(
      missing.map(([name, where]) => `ah.${name} (${where})`),
      [],
      'names the course uses but src/index.ts does not export',
    );
  });

  it('gives a value for every name the notebooks use as a value', () => {
    // Runtime check of the values: a type-only re-export of a function would pass tsc in the
    // barrel but be undefined in the kernel.
    for (const name of ['initBackend', 'byMode', 'selfCheck', 'recoverFromInterrupt', 'progress']) {
      assert.equal(typeof barrel[name], 'function', `ah.${name}`);
    }
    for (const [name] of courseNames()) {
      if (/^[a-z]/.test(name)) assert.notEqual(barrel[name], undefined, `ah.${name} is undefined`);
    }
  });

  it('leaves out every export of the plumbing modules, which stay importable by path', () => {
    for (const module of PLUMBING_MODULES) {
      const names = Object.keys(load(module));
      assert.ok(names.length > 0, `src/${module} exports nothing`);
      const leaked = names.filter((n) => n in barrel);
      assert.deepEqual(leaked, [], `src/${module} leaks into ah.`);
    }
  });

  it('leaves out the plumbing of files that mix it with learner API', () => {
    for (const [name, module] of PLUMBING_NAMES) {
      assert.ok(name in load(module), `src/${module} no longer exports ${name}; update this test`);
      assert.ok(!(name in barrel), `ah.${name} is plumbing but is in the barrel`);
    }
    for (const name of ['installWasmMatMulFix', 'delegateToCpu', 'uninstallWasmFixes']) {
      assert.ok(!(name in barrel), `ah.${name}`);
    }
  });

  it('keeps src/index.ts a plain list of re-exports, one per file', () => {
    const code = fs
      .readFileSync(INDEX, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('//'));
    const files = new Set<string>();
    for (const line of code) {
      const m = /^export (?:\*|\{[^}]+\}) from '\.\/([\w/-]+)';$/.exec(line);
      assert.ok(m, `not a one-line re-export: ${line}`);
      assert.ok(!files.has(m[1]), `${m[1]} is re-exported twice`);
      files.add(m[1]);
    }
    assert.ok(files.size >= 20, `expected the barrel to list many files, got ${files.size}`);
  });
});
