// Runtime entry for `import ... from 'attention-hands-on'` (notebooks, scripts). The library ships
// as TypeScript sources, so we register tsx's require hook and load them directly: editing a file
// in src/ takes effect at the next kernel restart, with no build step. Type information comes from
// package.json's "types" (index.ts), which tslab's compiler reads.
require('tsx/cjs/api').register();
module.exports = require('./index.ts');
