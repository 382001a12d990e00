/**
 * Rich output for notebooks, with a plain-text fallback everywhere else.
 *
 * tslab's public `display` sends one mime type per call, but a figure needs several at once
 * (interactive plotly JSON, a static HTML fallback and `text/plain`) so that every front end picks
 * the richest one it can render. Only tslab's internal `jupyter` module can send such a bundle, so we
 * reach it here, once, and nowhere else.
 */
import { randomBytes } from 'node:crypto';

/** A Jupyter mime bundle: mime type -> data (a string, or JSON for `application/*+json` types). */
export type MimeBundle = Record<string, string | object>;

/** Where a bundle goes: into a notebook output, or to a test. */
export type DisplaySink = (
  bundle: MimeBundle,
  options: { displayId?: string; update: boolean },
) => void;

/** The shape of tslab's display callback (dist/jupyter.js `lastWriteDisplayData`). */
type TslabWrite = (
  data: { data: MimeBundle; metadata: Record<string, unknown>; transient: { display_id?: string } },
  update: boolean,
) => void;

let testSink: DisplaySink | null = null;

/**
 * Route every display to `sink` instead of the notebook or the terminal (tests use this to inspect
 * bundles). Pass `null` to restore the default.
 */
export function setDisplaySink(sink: DisplaySink | null): void {
  testSink = sink;
}

/**
 * tslab's internal jupyter module when this process is a running tslab kernel, else `null`. We look
 * in the require cache rather than requiring it: loading tslab outside a kernel would pull in its
 * TypeScript compiler and zeromq for nothing.
 */
function tslabWriter(): TslabWrite | null {
  let resolved: string;
  try {
    resolved = require.resolve('tslab/dist/jupyter');
  } catch {
    return null;
  }
  const cached = require.cache[resolved];
  const write = (cached?.exports as { lastWriteDisplayData?: TslabWrite } | undefined)
    ?.lastWriteDisplayData;
  return typeof write === 'function' ? write : null;
}

/** True when running inside a tslab kernel that can show rich output (a notebook cell). */
export function inNotebook(): boolean {
  return testSink === null && tslabWriter() !== null;
}

function checkBundle(bundle: MimeBundle): void {
  if (bundle === null || typeof bundle !== 'object' || Array.isArray(bundle)) {
    throw new TypeError(`display: expected a mime bundle object, got ${typeof bundle}`);
  }
  const types = Object.keys(bundle);
  if (types.length === 0) throw new Error('display: expected at least one mime type, got none');
  for (const type of types) {
    if (!/^[a-z]+\/[\w.+-]+$/.test(type)) {
      throw new Error(`display: expected mime types like "text/plain", got "${type}"`);
    }
    const data = bundle[type];
    const isJson = /\+json$|\/json$/.test(type);
    if (typeof data !== 'string' && !(isJson && typeof data === 'object' && data !== null)) {
      throw new TypeError(
        `display: "${type}" must be a string${isJson ? ' or a JSON object' : ''}, got ${typeof data}`,
      );
    }
  }
}

function emit(bundle: MimeBundle, displayId: string | undefined, update: boolean): void {
  checkBundle(bundle);
  if (testSink) {
    testSink(bundle, { displayId, update });
    return;
  }
  const write = tslabWriter();
  if (write) {
    write(
      { data: bundle, metadata: {}, transient: displayId ? { display_id: displayId } : {} },
      update,
    );
    return;
  }
  // Terminal, test runner or script: the plain-text part is all a console can show.
  const text = bundle['text/plain'];
  if (typeof text === 'string' && !update)
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Show a mime bundle as a cell output. In a notebook the front end picks the richest type it can
 * render; in a terminal only `text/plain` is printed.
 */
export function display(bundle: MimeBundle): void {
  emit(bundle, undefined, false);
}

/**
 * One output area that can be redrawn in place (progress bars, live plots). Only its final state is
 * saved in the notebook. Outside a notebook, updates are not printed; call `show` to print.
 */
export class DisplayHandle {
  readonly displayId = randomBytes(8).toString('hex');
  private shown = false;

  /** Show `bundle` the first time, replace what this handle showed afterwards. */
  show(bundle: MimeBundle): void {
    emit(bundle, this.displayId, this.shown);
    this.shown = true;
  }
}
