// Starts the project's tslab kernel for the headless runner:
//   node kernel-launcher.cjs <connection-file> <runner-pid>
// It runs tslab's own startKernel (the same code Jupyter starts through the kernelspec) in the
// working directory the runner chose, and exits when the runner is gone, so a runner killed with
// SIGKILL cannot leave a kernel behind (unless a cell blocks the event loop forever; the runner
// kills its kernels itself in every other case).
'use strict';
const [configPath, runnerPid] = process.argv.slice(2);
if (!configPath || !runnerPid) {
  console.error('usage: node kernel-launcher.cjs <connection-file> <runner-pid>');
  process.exit(2);
}
const watchdog = setInterval(() => {
  try {
    process.kill(Number(runnerPid), 0);
  } catch {
    process.exit(1);
  }
}, 500);
watchdog.unref();
require('tslab/dist/main').startKernel({ configPath, enableFindLocal: false });
