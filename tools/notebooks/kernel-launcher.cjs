// Starts the project's tslab kernel for the headless runner:
//   node kernel-launcher.cjs <connection-file> <runner-pid>
// It runs tslab's own startKernel (the same code Jupyter starts through the kernelspec) in the
// working directory the runner chose. A watchdog kills the kernel's process group when the runner
// is gone, so even a runner killed with SIGKILL leaves no kernel behind. The watchdog lives in a
// worker thread because a cell can block the main thread forever (`while (true) {}`).
'use strict';
const { Worker } = require('node:worker_threads');

const [configPath, runnerPid] = process.argv.slice(2);
if (!configPath || !/^\d+$/.test(runnerPid ?? '')) {
  console.error('usage: node kernel-launcher.cjs <connection-file> <runner-pid>');
  process.exit(2);
}

const watchdog = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  try {
    process.kill(workerData.runner, 0);
  } catch {
    for (const target of [-workerData.self, workerData.self]) {
      try { process.kill(target, 'SIGKILL'); } catch {}
    }
  }
}, 500);
`;
new Worker(watchdog, {
  eval: true,
  workerData: { runner: Number(runnerPid), self: process.pid },
}).unref();

// The same compiler options as the kernelspec's kernel (see tslab-types.cjs).
require('./tslab-types.cjs');
require('tslab/dist/main').startKernel({ configPath, enableFindLocal: false });
