// Mocha's spec reporter plus one plain closing line, `N passed, N failed`, which CI records.
'use strict';
const Mocha = require('mocha');

class CourseReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const { passes, failures, pending } = runner.stats;
      const skipped = pending ? `, ${pending} skipped` : '';
      process.stdout.write(`\n${passes} passed, ${failures} failed${skipped}\n`);
    });
  }
}

module.exports = CourseReporter;
