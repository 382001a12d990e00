/**
 * A small static file server for the built book, on the loopback interface only: GET and HEAD,
 * content types for what the book contains, no directory listings, nothing outside the folder.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.ipynb': 'application/x-ipynb+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The file a URL path names inside `root`, or `null` when it names nothing there (including any
 * attempt to climb out with `..` or an encoded separator).
 */
export function resolveRequest(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split(/[?#]/)[0]);
  } catch {
    return null; // malformed percent-encoding
  }
  if (path.includes('\0')) return null;
  const base = resolve(root);
  let file = resolve(join(base, normalize(path)));
  if (file !== base && !file.startsWith(base + sep)) return null;
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  return existsSync(file) && statSync(file).isFile() ? file : null;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `root` on 127.0.0.1. With `port` 0 the system picks a free port; otherwise, when `port`
 * is taken, the next ones are tried (up to `tries`), so a second book or another dev server does
 * not stop the first.
 */
export async function serveBook(root: string, port = 8000, tries = 20): Promise<RunningServer> {
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`serveBook: expected a built book in ${root} (no index.html there)`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`serveBook: expected a port from 0 to 65535, got ${port}`);
  }
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const file = resolveRequest(root, req.url ?? '/');
    if (!file) {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`not found: ${req.url}\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  for (let attempt = 0; ; attempt++) {
    const tryPort = port === 0 ? 0 : port + attempt;
    try {
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(tryPort, '127.0.0.1', () => {
          server.off('error', fail);
          ok();
        });
      });
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' || port === 0 || attempt + 1 >= tries) {
        throw new Error(
          `could not serve the book on port ${tryPort}: ${(err as Error).message}${code === 'EADDRINUSE' ? ` (ports ${port}-${tryPort} are all taken; choose one with --port)` : ''}`,
        );
      }
    }
  }
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
