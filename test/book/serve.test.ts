import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRequest, serveBook } from '../../tools/book/serve';

describe('book server', () => {
  let parent: string;
  let root: string;
  before(() => {
    parent = mkdtempSync(join(tmpdir(), 'book-serve-'));
    root = join(parent, 'book');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<h1>home</h1>');
    writeFileSync(join(root, 'assets', 'book.css'), 'body{}');
    writeFileSync(join(root, 'a b.html'), 'spaced');
    writeFileSync(join(parent, 'secret.txt'), 'not for the web');
  });
  after(() => rmSync(parent, { recursive: true, force: true }));

  const requests: [string, string | null][] = [
    ['/', 'index.html'],
    ['/index.html?x=1#top', 'index.html'],
    ['/assets/book.css', 'assets/book.css'],
    ['/assets/', null],
    ['/a%20b.html', 'a b.html'],
    ['/missing.html', null],
    ['/../secret.txt', null],
    ['/assets/../../secret.txt', null],
    ['/%2e%2e/secret.txt', null],
    ['/..%2fsecret.txt', null],
    ['/%E0%A4%A', null],
    ['/index.html%00.css', null],
  ];
  for (const [url, file] of requests) {
    it(`maps ${url} to ${file ?? 'nothing'}`, () =>
      assert.equal(resolveRequest(root, url), file === null ? null : join(root, file)));
  }

  it('serves files with their content type, 404s the rest, and allows only GET and HEAD', async () => {
    const s = await serveBook(root, 0);
    try {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const home = await fetch(s.url);
      assert.equal(home.status, 200);
      assert.equal(home.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(await home.text(), '<h1>home</h1>');
      const css = await fetch(`${s.url}assets/book.css`);
      assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
      assert.equal((await fetch(`${s.url}nope`)).status, 404);
      assert.equal((await fetch(s.url, { method: 'POST' })).status, 405);
    } finally {
      await s.close();
    }
  });

  it('moves on to the next port when the first is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const s = await serveBook(root, taken);
      assert.notEqual(s.port, taken);
      assert.ok(s.port > taken && s.port < taken + 20, `port ${s.port} after ${taken}`);
      assert.equal((await fetch(s.url)).status, 200);
      await s.close();
    } finally {
      blocker.close();
    }
  });

  it('refuses a folder with no book and a bad port, saying what it expected', async () => {
    await assert.rejects(
      serveBook(parent, 0),
      /expected a built book in .* \(no index\.html there\)/,
    );
    await assert.rejects(serveBook(root, 70000), /expected a port from 0 to 65535, got 70000/);
  });
});
