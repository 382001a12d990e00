/**
 * The first thing a learner does with a stub: replace each function's body with their answer.
 * This test does exactly that with the reference answers (each exported function's body from
 * `solutions/`, plus the solution's private helpers), keeps the stub's own imports and doc
 * comments, and type-checks the result as if it were saved in `exercises/`, under the compiler
 * options the grader uses. A stub that imports `tf` only as a type (`import type * as tf`) fails
 * here, because the first `tf.tidy(...)` a learner writes needs a value import.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { OPTIONS } from '../../tools/grading/typecheck';

const ROOT = path.resolve(__dirname, '../..');
const EXERCISES = path.join(ROOT, 'exercises');
const SOLUTIONS = path.join(ROOT, 'solutions');

/** `NN-chapter/file.ts` for every exercise stub. */
function exerciseFiles(): string[] {
  return fs
    .readdirSync(EXERCISES)
    .filter((c) => /^\d\d-/.test(c))
    .sort()
    .flatMap((c) =>
      fs
        .readdirSync(path.join(EXERCISES, c))
        .filter((f) => f.endsWith('.ts'))
        .sort()
        .map((f) => `${c}/${f}`),
    );
}

function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
}

/** The name a top-level statement declares, if any. */
function declaredName(s: ts.Statement): string | undefined {
  if (
    (ts.isFunctionDeclaration(s) ||
      ts.isInterfaceDeclaration(s) ||
      ts.isTypeAliasDeclaration(s) ||
      ts.isClassDeclaration(s)) &&
    s.name
  )
    return s.name.text;
  if (ts.isVariableStatement(s)) {
    const d = s.declarationList.declarations[0];
    return ts.isIdentifier(d.name) ? d.name.text : undefined;
  }
  return undefined;
}

/**
 * The stub with every function body replaced by the solution's body of the same function, and
 * the solution's other top-level declarations (helpers) that the stub lacks appended. Imports
 * come from the stub only: that is the point.
 */
export function fillStub(stubText: string, solutionText: string, file = 'answer.ts'): string {
  const stub = parse(file, stubText);
  const solution = parse(file, solutionText);
  const bodies = new Map<string, string>();
  for (const s of solution.statements) {
    if (ts.isFunctionDeclaration(s) && s.name && s.body)
      bodies.set(s.name.text, s.body.getText(solution));
  }
  const edits: { start: number; end: number; text: string }[] = [];
  const stubNames = new Set<string>();
  for (const s of stub.statements) {
    const name = declaredName(s);
    if (name) stubNames.add(name);
    if (ts.isFunctionDeclaration(s) && s.name && s.body) {
      const body = bodies.get(s.name.text);
      assert.ok(body, `${file}: the solution has no function ${s.name.text}`);
      edits.push({ start: s.body.getStart(stub), end: s.body.getEnd(), text: body });
    }
  }
  let text = stubText;
  for (const e of edits.sort((a, b) => b.start - a.start))
    text = text.slice(0, e.start) + e.text + text.slice(e.end);
  const helpers = solution.statements.filter((s) => {
    const name = declaredName(s);
    return !ts.isImportDeclaration(s) && name !== undefined && !stubNames.has(name);
  });
  return [text, ...helpers.map((s) => s.getFullText(solution))].join('\n');
}

/** Type-checks `texts` (path -> content) as if saved at those paths; returns the errors per path. */
function typeCheck(texts: Map<string, string>): Map<string, string[]> {
  const host = ts.createCompilerHost(OPTIONS, true);
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => texts.get(path.resolve(f)) ?? readFile(f);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => texts.has(path.resolve(f)) || fileExists(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, v, ...rest) => {
    const text = texts.get(path.resolve(f));
    return text !== undefined
      ? ts.createSourceFile(f, text, v, true)
      : getSourceFile(f, v, ...rest);
  };
  const program = ts.createProgram([...texts.keys()], OPTIONS, host);
  const result = new Map<string, string[]>();
  for (const f of texts.keys()) {
    const source = program.getSourceFile(f);
    assert.ok(source, `the compiler did not load ${f}`);
    result.set(
      f,
      [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map(
        (d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'),
      ),
    );
  }
  return result;
}

describe('exercise stubs filled in the obvious way', function () {
  this.timeout(120_000);
  const files = exerciseFiles();

  it('every stub, its function bodies replaced by the reference answer, type-checks', () => {
    assert.ok(files.length >= 9, `found ${files.length} exercise files`);
    const texts = new Map(
      files.map((f) => [
        path.join(EXERCISES, f),
        fillStub(
          fs.readFileSync(path.join(EXERCISES, f), 'utf8'),
          fs.readFileSync(path.join(SOLUTIONS, f), 'utf8'),
          f,
        ),
      ]),
    );
    for (const [f, text] of texts)
      assert.doesNotMatch(text, /notImplemented\(/, `${f}: a body was not replaced`);
    const errors = [...typeCheck(texts)].filter(([, e]) => e.length > 0);
    assert.deepEqual(
      errors.map(([f, e]) => `${path.relative(ROOT, f)}: ${e.join('; ')}`),
      [],
    );
  });

  it('catches a stub that imports tf only as a type (the check can fail)', () => {
    const stub = fs
      .readFileSync(path.join(EXERCISES, '02-scoring-functions/masked-softmax.ts'), 'utf8')
      .replace(/^import \* as tf from/m, 'import type * as tf from');
    const filled = fillStub(
      stub,
      fs.readFileSync(path.join(SOLUTIONS, '02-scoring-functions/masked-softmax.ts'), 'utf8'),
    );
    const file = path.join(EXERCISES, '02-scoring-functions/masked-softmax.ts');
    const [errors] = [...typeCheck(new Map([[file, filled]])).values()];
    assert.ok(
      errors.some((e) =>
        /cannot be used as a value because it was imported using 'import type'/.test(e),
      ),
      errors.join('\n'),
    );
  });
});
