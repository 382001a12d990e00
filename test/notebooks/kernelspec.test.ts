import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installKernelSpec, jupyterDataDir } from '../../tools/notebooks/kernelspec';

const ROOT = join(__dirname, '..', '..');

describe('jupyterDataDir (same rules as jupyter_core)', () => {
  const cases: [string, Record<string, string>, NodeJS.Platform, string][] = [
    [
      'JUPYTER_DATA_DIR wins',
      { JUPYTER_DATA_DIR: '/custom/jd', XDG_DATA_HOME: '/x' },
      'linux',
      '/custom/jd',
    ],
    ['Linux honours XDG_DATA_HOME', { XDG_DATA_HOME: '/xdg' }, 'linux', '/xdg/jupyter'],
    ['Linux default', {}, 'linux', '/home/ada/.local/share/jupyter'],
    ['macOS', {}, 'darwin', '/home/ada/Library/Jupyter'],
    [
      'Windows uses APPDATA',
      { APPDATA: 'C:/Users/ada/AppData/Roaming' },
      'win32',
      join('C:/Users/ada/AppData/Roaming', 'jupyter'),
    ],
  ];
  for (const [label, env, platform, expected] of cases) {
    it(label, () => assert.equal(jupyterDataDir(env, platform, '/home/ada'), expected));
  }
});

describe('npm run kernel (installKernelSpec)', () => {
  const fresh = () => mkdtempSync(join(tmpdir(), 'jupyter-data-'));
  const specFile = (dir: string) => join(dir, 'kernels', 'tslab', 'kernel.json');

  it("writes a kernelspec that starts the project's tslab with this Node.js", () => {
    const dir = fresh();
    const r = installKernelSpec({ projectRoot: ROOT, dataDir: dir });
    assert.equal(r.action, 'created');
    const spec = JSON.parse(readFileSync(specFile(dir), 'utf8'));
    assert.deepEqual(spec.argv, [
      process.execPath,
      '--require',
      join(ROOT, 'tools', 'notebooks', 'tslab-types.cjs'),
      join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'),
      'kernel',
      '--config-path',
      '{connection_file}',
    ]);
    assert.equal(spec.language, 'typescript');
    assert.ok(existsSync(spec.argv[2]), 'the preload it points at exists');
    assert.ok(existsSync(spec.argv[3]), 'the tslab it points at exists');
  });

  it('is safe to run twice, and updates its own kernelspec when the project moved', () => {
    const dir = fresh();
    installKernelSpec({ projectRoot: ROOT, dataDir: dir });
    assert.equal(installKernelSpec({ projectRoot: ROOT, dataDir: dir }).action, 'unchanged');
    const spec = JSON.parse(readFileSync(specFile(dir), 'utf8'));
    spec.argv[3] = '/old/clone/node_modules/tslab/bin/tslab';
    writeFileSync(specFile(dir), JSON.stringify(spec));
    assert.equal(installKernelSpec({ projectRoot: ROOT, dataDir: dir }).action, 'updated');
    assert.equal(
      JSON.parse(readFileSync(specFile(dir), 'utf8')).argv[3],
      join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'),
    );
  });

  it("keeps a user's own working tslab kernelspec, and replaces it only with --force, keeping a backup", () => {
    const dir = fresh();
    mkdirSync(join(dir, 'kernels', 'tslab'), { recursive: true });
    const theirs = JSON.stringify({
      argv: [process.execPath, 'tslab', 'kernel'],
      display_name: 'TypeScript',
      language: 'typescript',
    });
    writeFileSync(specFile(dir), theirs);
    const kept = installKernelSpec({ projectRoot: ROOT, dataDir: dir });
    assert.equal(kept.action, 'kept');
    assert.match(kept.reason!, /--force/);
    assert.equal(readFileSync(specFile(dir), 'utf8'), theirs);
    const forced = installKernelSpec({ projectRoot: ROOT, dataDir: dir, force: true });
    assert.equal(forced.action, 'replaced');
    assert.equal(readFileSync(forced.backup!, 'utf8'), theirs);
  });

  it("replaces a user's kernelspec whose program no longer exists, keeping a backup", () => {
    const dir = fresh();
    mkdirSync(join(dir, 'kernels', 'tslab'), { recursive: true });
    writeFileSync(
      specFile(dir),
      JSON.stringify({ argv: ['/gone/bin/tslab', 'kernel'], language: 'typescript' }),
    );
    const r = installKernelSpec({ projectRoot: ROOT, dataDir: dir, env: { PATH: '' } });
    assert.equal(r.action, 'replaced');
    assert.equal(
      readdirSync(join(dir, 'kernels', 'tslab')).filter((f) => f.includes('backup')).length,
      1,
    );
  });
});
