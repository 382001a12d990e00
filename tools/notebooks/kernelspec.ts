/**
 * Registers the project's tslab as the Jupyter kernel "tslab" for the current user, without Python:
 * `tslab install` shells out to IPython, which a learner may not have. JupyterLab, Jupyter Notebook
 * and VS Code all read kernelspecs from the user's Jupyter data folder.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export const KERNEL_NAME = 'tslab';
const MARKER = 'attention_hands_on';

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: 'signal';
  metadata: Record<string, unknown>;
}

/**
 * The user's Jupyter data folder, as jupyter_core computes it: JUPYTER_DATA_DIR, else the platform
 * default (Linux honours XDG_DATA_HOME).
 */
export function jupyterDataDir(
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (env.JUPYTER_DATA_DIR) return resolve(env.JUPYTER_DATA_DIR);
  if (platform === 'darwin') return join(home, 'Library', 'Jupyter');
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'jupyter');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'jupyter');
}

/** The kernelspec that starts this project's tslab with this Node.js. */
export function projectKernelSpec(projectRoot: string, node = process.execPath): KernelSpec {
  const tslab = join(projectRoot, 'node_modules', 'tslab', 'bin', 'tslab');
  const version = JSON.parse(
    readFileSync(join(projectRoot, 'node_modules', 'tslab', 'package.json'), 'utf8'),
  ).version;
  return {
    // The preload keeps test-only types (mocha's) out of notebook cells; see the file.
    argv: [
      node,
      '--require',
      join(projectRoot, 'tools', 'notebooks', 'tslab-types.cjs'),
      tslab,
      'kernel',
      '--config-path',
      '{connection_file}',
    ],
    display_name: 'TypeScript (tslab)',
    language: 'typescript',
    interrupt_mode: 'signal',
    metadata: { [MARKER]: { project: projectRoot, tslab: version } },
  };
}

/** Whether a kernelspec's program can be started: an existing file, or a command on PATH. */
function programExists(
  program: string | undefined,
  env: Record<string, string | undefined>,
): boolean {
  if (!program) return false;
  if (isAbsolute(program)) return existsSync(program);
  return (env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, program)));
}

export type InstallAction = 'created' | 'unchanged' | 'updated' | 'replaced' | 'kept';

export interface InstallResult {
  action: InstallAction;
  file: string;
  spec: KernelSpec;
  /** Where a replaced kernelspec of the user's was saved. */
  backup?: string;
  /** Why an existing kernelspec was kept. */
  reason?: string;
}

/**
 * Writes `<dataDir>/kernels/tslab/kernel.json`. Safe to run twice. A "tslab" kernelspec that this
 * project did not write (e.g. from `tslab install`) is kept if it can start, since tslab hands over
 * to the project's own copy when it finds one; with `force`, or if it is broken, it is backed up
 * and replaced.
 */
export function installKernelSpec(options: {
  projectRoot: string;
  dataDir?: string;
  force?: boolean;
  env?: Record<string, string | undefined>;
}): InstallResult {
  const env = options.env ?? process.env;
  const dir = join(options.dataDir ?? jupyterDataDir(env), 'kernels', KERNEL_NAME);
  const file = join(dir, 'kernel.json');
  const spec = projectKernelSpec(options.projectRoot);
  const text = `${JSON.stringify(spec, null, 2)}\n`;
  let action: InstallAction = 'created';
  let backup: string | undefined;
  if (existsSync(file)) {
    const before = readFileSync(file, 'utf8');
    let existing: Partial<KernelSpec> | null = null;
    try {
      existing = JSON.parse(before);
    } catch {
      existing = null;
    }
    const ours = Boolean(existing?.metadata && MARKER in existing.metadata);
    if (before === text) return { action: 'unchanged', file, spec };
    if (ours) {
      action = 'updated';
    } else if (!options.force && existing && programExists(existing.argv?.[0], env)) {
      return {
        action: 'kept',
        file,
        spec,
        reason: `a "${KERNEL_NAME}" kernelspec you installed earlier starts ${existing.argv?.[0]}; tslab uses this project's copy when it finds one, so it works as is (run with --force to replace it)`,
      };
    } else {
      action = 'replaced';
      backup = `${file}.backup-${Date.now()}`;
      copyFileSync(file, backup);
    }
  }
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return { action, file, spec, backup };
}

/** Asks Jupyter itself (if installed) whether it lists the kernel; null when Jupyter is absent. */
export function jupyterSeesKernel(
  env: Record<string, string | undefined> = process.env,
): boolean | null {
  const run = spawnSync('jupyter', ['kernelspec', 'list', '--json'], {
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (run.error || run.status !== 0) return null;
  try {
    return KERNEL_NAME in JSON.parse(run.stdout).kernelspecs;
  } catch {
    return null;
  }
}

const USAGE = `usage: npm run kernel [-- --force] [-- --dir DIR]

Registers this project's tslab as the Jupyter kernel "${KERNEL_NAME}" for the current user.
  --force    replace a "${KERNEL_NAME}" kernelspec that this project did not write (it is backed up)
  --dir DIR  the Jupyter data folder to write into (default: ${jupyterDataDir()})`;

export function main(argv = process.argv.slice(2)): number {
  let force = false;
  let dataDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--force') force = true;
    else if (argv[i] === '--dir' && argv[i + 1]) dataDir = resolve(argv[++i]);
    else {
      console.error(
        argv[i] === '-h' || argv[i] === '--help'
          ? USAGE
          : `kernel: unknown argument "${argv[i]}"\n\n${USAGE}`,
      );
      return argv[i] === '-h' || argv[i] === '--help' ? 0 : 2;
    }
  }
  const projectRoot = resolve(__dirname, '..', '..');
  if (!existsSync(join(projectRoot, 'node_modules', 'tslab', 'bin', 'tslab'))) {
    console.error('kernel: node_modules/tslab is missing; run `npm install` first');
    return 1;
  }
  const result = installKernelSpec({ projectRoot, dataDir, force });
  const verbs: Record<InstallAction, string> = {
    created: 'Installed',
    updated: 'Updated',
    replaced: 'Replaced',
    unchanged: 'Already installed (unchanged)',
    kept: 'Kept',
  };
  console.log(
    `${verbs[result.action]}: the Jupyter kernel "${KERNEL_NAME}" (${result.spec.display_name})`,
  );
  console.log(`  kernelspec: ${result.file}`);
  if (result.action !== 'kept')
    console.log(`  starts:     ${result.spec.argv.slice(0, -2).join(' ')}`);
  if (result.backup) console.log(`  your previous kernelspec was saved as ${result.backup}`);
  if (result.reason) console.log(`  ${result.reason}`);
  const seen = jupyterSeesKernel(
    dataDir ? { ...process.env, JUPYTER_DATA_DIR: dataDir } : process.env,
  );
  if (seen === true) console.log('  `jupyter kernelspec list` shows it.');
  if (seen === false)
    console.log(
      '  warning: `jupyter kernelspec list` does not show it; is JUPYTER_DATA_DIR set elsewhere?',
    );
  console.log(
    'Open a notebook in notebooks/ in JupyterLab or VS Code and choose "TypeScript (tslab)".',
  );
  return 0;
}

if (require.main === module) process.exit(main());
