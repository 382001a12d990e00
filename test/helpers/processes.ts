/** Finds kernel processes through /proc (Linux), independently of the runner's own bookkeeping. */
import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of kernel launchers started by the runner whose pid is `runnerPid` (any runner if omitted). */
export function kernelLaunchers(runnerPid?: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited while we looked
    }
    const at = argv.findIndex((a) => a.endsWith('kernel-launcher.cjs'));
    if (at < 0) continue;
    if (runnerPid === undefined || argv[at + 2] === String(runnerPid)) pids.push(Number(entry));
  }
  return pids;
}

/** Polls until `check` is true or `ms` have passed; returns the last value of `check`. */
export async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  return check();
}
