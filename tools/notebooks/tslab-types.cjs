// Preloaded into the tslab kernel (`node --require tslab-types.cjs tslab kernel ...`, and by
// kernel-launcher.cjs): keeps test-only types out of notebook cells.
//
// tslab does not read any tsconfig.json: it compiles cells with fixed compiler options that set
// no `types`, so TypeScript includes every package under node_modules/@types, @types/mocha too.
// Cells then type-check against mocha's globals (`describe` compiles and is undefined at run time;
// a typo gets "Did you mean 'test'?"). This wraps the TypeScript that tslab loads so that, when
// tslab sets no `types`, only Node's are included (`types: ['node']`). Nothing else changes.
'use strict';
const Module = require('node:module');

const TSLAB_TYPESCRIPT = '@tslab/typescript-for-tslab';
const NOTEBOOK_TYPES = ['node'];

/** A copy of the TypeScript namespace whose watch host gets `types` when tslab sets none. */
function withNotebookTypes(ts) {
  const wrapped = {};
  for (const key of Object.keys(ts)) {
    if (key === 'createWatchCompilerHost') continue;
    Object.defineProperty(wrapped, key, { enumerable: true, get: () => ts[key] });
  }
  Object.defineProperty(wrapped, 'createWatchCompilerHost', {
    enumerable: true,
    value(rootFiles, options, ...rest) {
      const opts =
        options && options.types === undefined ? { ...options, types: NOTEBOOK_TYPES } : options;
      return ts.createWatchCompilerHost(rootFiles, opts, ...rest);
    },
  });
  return wrapped;
}

const load = Module._load;
let wrapped = null;
Module._load = function (request, parent, isMain) {
  const mod = load.call(this, request, parent, isMain);
  if (request !== TSLAB_TYPESCRIPT) return mod;
  if (wrapped === null) wrapped = withNotebookTypes(mod);
  return wrapped;
};
