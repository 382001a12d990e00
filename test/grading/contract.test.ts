/**
 * The exercise contract, checked in both directions: every exercise stub has a reference answer
 * with the same exports and types, every exercise is graded, the reference answers earn full
 * marks and the untouched stubs earn zero.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { gradeExercise, loadSpecs, type ExerciseSpec } from '../../tools/grading/framework';

const ROOT = path.resolve(__dirname, '../..');
const EXERCISES = path.join(ROOT, 'exercises');
const SOLUTIONS = path.join(ROOT, 'solutions');

function answerFiles(root: string): string[] {
  return fs
    .readdirSync(root)
    .sort()
    .flatMap((chapter) =>
      fs.statSync(path.join(root, chapter)).isDirectory()
        ? fs
            .readdirSync(path.join(root, chapter))
            .filter((f) => f.endsWith('.ts'))
            .sort()
            .map((f) => `${chapter}/${f}`)
        : [],
    );
}

/** Exported names with their types as the compiler prints them. */
function exportedTypes(program: ts.Program, file: string): Map<string, string> {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  assert.ok(source, `compiler did not load ${file}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const result = new Map<string, string>();
  for (const symbol of moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : []) {
    result.set(
      symbol.name,
      checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, source)),
    );
  }
  return result;
}

describe('exercise contract', () => {
  const specs: ExerciseSpec[] = loadSpecs(path.join(ROOT, 'graded'));
  const files = answerFiles(EXERCISES);

  it('has at least one graded exercise', () => {
    assert.ok(specs.length > 0 && files.length > 0);
  });

  it('every exercise has a reference answer and vice versa', () => {
    assert.deepEqual(answerFiles(SOLUTIONS), files);
  });

  it('stubs and answers export the same names with the same types', function () {
    this.timeout(120000);
    const all = files.flatMap((f) => [path.join(EXERCISES, f), path.join(SOLUTIONS, f)]);
    const program = ts.createProgram(all, {
      strict: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
    });
    for (const f of files) {
      const stub = exportedTypes(program, path.join(EXERCISES, f));
      const answer = exportedTypes(program, path.join(SOLUTIONS, f));
      assert.ok(stub.size > 0, `${f}: the stub exports nothing`);
      assert.deepEqual(
        [...answer.entries()],
        [...stub.entries()],
        `${f}: exports differ between exercises/ and solutions/`,
      );
    }
  });

  it('every exercise file is graded, and every graded spec points at an exercise file', () => {
    const graded = new Set(specs.map((s) => `${s.chapter}/${s.file}`));
    assert.deepEqual([...graded].sort(), files);
  });

  for (const spec of specs) {
    it(`${spec.chapter}/${spec.exercise}: the reference answer earns full marks`, () => {
      const result = gradeExercise(spec, SOLUTIONS);
      const failures = result.tests.filter((t) => !t.passed).map((t) => `${t.name}: ${t.feedback}`);
      assert.deepEqual(failures, []);
      assert.equal(result.earned, result.possible);
      assert.ok(result.possible > 0);
    });

    it(`${spec.chapter}/${spec.exercise}: the untouched stub earns zero, each test saying "not implemented yet"`, () => {
      const result = gradeExercise(spec, EXERCISES);
      assert.equal(result.earned, 0);
      for (const t of result.tests)
        assert.match(t.feedback, /not implemented yet \(exercises\//, t.name);
    });
  }
});

describe('grading framework', () => {
  // These cases are written for the masked-softmax exercise; find it by name, not by sort order.
  const spec = loadSpecs(path.join(ROOT, 'graded')).find((s) => s.exercise === 'masked-softmax')!;
  const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'answers-'));
  const write = (body: string) => {
    const dir = path.join(tmp, `${spec.chapter}-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(path.join(dir, spec.chapter), { recursive: true });
    fs.writeFileSync(path.join(dir, spec.chapter, spec.file), body);
    return dir;
  };
  const tfPath = JSON.stringify(require.resolve('@tensorflow/tfjs'));

  it('gives partial credit and actionable feedback to a half-right answer (-Infinity fill: NaN rows)', () => {
    const dir = write(`const tf = require(${tfPath});
      exports.maskedSoftmax = (s, lens) => tf.tidy(() => {
        const keep = tf.less(tf.range(0, s.shape[2]).reshape([1, 1, -1]), lens.toFloat().reshape([-1, 1, 1]));
        return tf.softmax(tf.where(keep.broadcastTo(s.shape), s, tf.fill(s.shape, -Infinity)));
      });`);
    const result = gradeExercise(spec, dir);
    assert.ok(
      result.earned > 0 && result.earned < result.possible,
      `earned ${result.earned} of ${result.possible}`,
    );
    const failed = result.tests.filter((t) => !t.passed);
    assert.deepEqual(
      failed.map((t) => t.name),
      ['returns zeros, not NaN, for a row with no valid key'],
    );
    assert.match(
      failed[0].feedback,
      /maskedSoftmax\(scores \[2, 3, 4\], validLens \[0,\d\]\): values differ at \[0, 0, 0\]: got NaN, expected 0 .*Hint: weight \[0, 0, 0\] is NaN \(expected 0\): validLens\[0\] = 0, so every row of batch element 0 must be all zeros/,
    );
  });

  it('earns nothing for an answer that ignores the mask', () => {
    const result = gradeExercise(
      spec,
      write(`const tf = require(${tfPath}); exports.maskedSoftmax = (s) => tf.softmax(s);`),
    );
    assert.equal(result.earned, 0);
  });

  it('reports a wrong shape, a non-tensor, a crash and a missing file without crashing itself', () => {
    const cases: [string, RegExp][] = [
      [
        `const tf = require(${tfPath}); exports.maskedSoftmax = (s) => s.slice([0, 0, 0], [1, 1, 1]);`,
        /shape \[1, 1, 1\] != expected/,
      ],
      [`exports.maskedSoftmax = () => [[0.5, 0.5]];`, /expected a tf\.Tensor, got an array/],
      [
        `exports.maskedSoftmax = () => { throw new RangeError('boom'); };`,
        /your code threw RangeError: boom/,
      ],
      [
        `throw new Error('broken at import');`,
        /could not load 02-scoring-functions\/masked-softmax\.ts: your code threw Error: broken at import/,
      ],
    ];
    for (const [body, message] of cases) {
      const result = gradeExercise(spec, write(body));
      assert.equal(result.earned, 0, body);
      for (const t of result.tests) assert.match(t.feedback, message, body);
    }
    const missing = gradeExercise(spec, path.join(tmp, 'nowhere'));
    assert.equal(missing.earned, 0);
    assert.match(missing.tests[0].feedback, /missing answer file/);
  });
});
