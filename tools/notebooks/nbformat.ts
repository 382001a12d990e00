/**
 * The parts of nbformat 4 (https://nbformat.readthedocs.io/en/latest/format_description.html) the
 * runner reads and writes, and the reduction of iopub messages into cell outputs.
 */
import { readFileSync } from 'node:fs';

export type MultilineString = string | string[];

export type Output =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: MultilineString }
  | {
      output_type: 'display_data';
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
    }
  | {
      output_type: 'execute_result';
      execution_count: number | null;
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
    }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

export interface CodeCell {
  cell_type: 'code';
  id?: string;
  source: MultilineString;
  metadata: Record<string, unknown>;
  execution_count: number | null;
  outputs: Output[];
}

export interface OtherCell {
  cell_type: 'markdown' | 'raw';
  id?: string;
  source: MultilineString;
  metadata: Record<string, unknown>;
  attachments?: Record<string, unknown>;
}

export type Cell = CodeCell | OtherCell;

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: Cell[];
}

/** Joins nbformat's list-of-lines form. */
export function joinSource(source: MultilineString): string {
  return Array.isArray(source) ? source.join('') : source;
}

/**
 * Reads and checks a notebook file. Errors name the file and what was wrong, because a hand-edited
 * or merge-conflicted notebook is a common way for a course build to break.
 */
export function readNotebook(path: string): Notebook {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read notebook ${path}: ${(err as Error).message}`);
  }
  let nb: Notebook;
  try {
    nb = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}); is it a notebook?`);
  }
  if (nb === null || typeof nb !== 'object' || !Array.isArray(nb.cells)) {
    throw new Error(`${path}: expected a notebook with a "cells" array`);
  }
  if (nb.nbformat !== 4) {
    throw new Error(`${path}: expected nbformat 4, got ${JSON.stringify(nb.nbformat)}`);
  }
  nb.cells.forEach((cell, i) => {
    if (!['code', 'markdown', 'raw'].includes(cell?.cell_type)) {
      throw new Error(`${path}: cell ${i + 1} has cell_type ${JSON.stringify(cell?.cell_type)}`);
    }
    if (typeof cell.source !== 'string' && !Array.isArray(cell.source)) {
      throw new Error(`${path}: cell ${i + 1} has no source`);
    }
  });
  return nb;
}

/** nbformat's preferred on-disk form for multiline text: a list of lines, each keeping its "\n". */
export function splitLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === '' ? [] : lines;
}

/** A display output's location, so `update_display_data` can find every copy of it. */
interface DisplayRef {
  outputs: Output[];
  index: number;
}

/**
 * Turns iopub messages into nbformat outputs, the way Jupyter front ends do: consecutive stream
 * writes merge, `update_display_data` replaces every output with the same display id (also in
 * earlier cells), `clear_output` (with `wait`) clears before the next output.
 */
export class OutputCollector {
  private readonly displays = new Map<string, DisplayRef[]>();
  private pendingClear = new WeakSet<Output[]>();

  /** Applies one iopub message to `outputs` (the outputs of the cell that sent it). */
  apply(outputs: Output[], msgType: string, content: Record<string, unknown>): void {
    if (msgType === 'clear_output') {
      if (content.wait) this.pendingClear.add(outputs);
      else outputs.length = 0;
      return;
    }
    if (msgType === 'update_display_data') {
      const id = displayId(content);
      for (const ref of (id && this.displays.get(id)) || []) {
        ref.outputs[ref.index] = displayOutput(content);
      }
      return;
    }
    const output = toOutput(msgType, content);
    if (!output) return;
    if (this.pendingClear.has(outputs)) {
      outputs.length = 0;
      this.pendingClear.delete(outputs);
    }
    const last = outputs[outputs.length - 1];
    if (
      output.output_type === 'stream' &&
      last?.output_type === 'stream' &&
      last.name === output.name
    ) {
      last.text = joinSource(last.text) + joinSource(output.text);
      return;
    }
    outputs.push(output);
    const id = displayId(content);
    if (id && output.output_type === 'display_data') {
      const refs = this.displays.get(id) ?? [];
      refs.push({ outputs, index: outputs.length - 1 });
      this.displays.set(id, refs);
    }
  }
}

function displayId(content: Record<string, unknown>): string | undefined {
  const transient = content.transient as { display_id?: unknown } | undefined;
  return typeof transient?.display_id === 'string' ? transient.display_id : undefined;
}

function displayOutput(content: Record<string, unknown>): Output {
  return {
    output_type: 'display_data',
    data: (content.data as Record<string, unknown>) ?? {},
    metadata: (content.metadata as Record<string, unknown>) ?? {},
  };
}

function toOutput(msgType: string, content: Record<string, unknown>): Output | null {
  switch (msgType) {
    case 'stream':
      return {
        output_type: 'stream',
        name: content.name === 'stderr' ? 'stderr' : 'stdout',
        text: String(content.text ?? ''),
      };
    case 'display_data':
      return displayOutput(content);
    case 'execute_result':
      return {
        output_type: 'execute_result',
        execution_count: (content.execution_count as number | undefined) ?? null,
        data: (content.data as Record<string, unknown>) ?? {},
        metadata: (content.metadata as Record<string, unknown>) ?? {},
      };
    case 'error':
      return {
        output_type: 'error',
        ename: String(content.ename ?? 'Error'),
        evalue: String(content.evalue ?? ''),
        traceback: Array.isArray(content.traceback) ? content.traceback.map(String) : [],
      };
    default:
      return null;
  }
}

/** Text of the outputs as a reader would see it (streams, errors and text/plain). */
export function outputText(outputs: Output[]): string {
  return outputs
    .map((o) => {
      if (o.output_type === 'stream') return joinSource(o.text);
      if (o.output_type === 'error') return `${o.ename}: ${o.evalue}\n${o.traceback.join('\n')}`;
      const plain = o.data['text/plain'];
      return typeof plain === 'string' || Array.isArray(plain)
        ? joinSource(plain as MultilineString)
        : '';
    })
    .join('');
}

/** Stream text of one stream name across outputs. */
export function streamText(outputs: Output[], name: 'stdout' | 'stderr'): string {
  return outputs
    .map((o) => (o.output_type === 'stream' && o.name === name ? joinSource(o.text) : ''))
    .join('');
}
