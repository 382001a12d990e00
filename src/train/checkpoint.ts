/**
 * Checkpoints: a module's named weights in one safetensors file, with the run's config, seed,
 * metrics and the library version in the header's `__metadata__` (each a JSON string, as the
 * format allows only string values). PyTorch and Hugging Face tools read the file as it is; note
 * that our `Linear` weights are `[in, out]` where `torch.nn.Linear` stores `[out, in]`.
 *
 * Safety rules:
 * - Saving writes a temporary file next to the target, flushes it to disk and renames it over the
 *   target, so a crash leaves either the old checkpoint or the new one, never half a file.
 * - Saving never replaces a file this library did not write: if `path` exists and is not a
 *   checkpoint from `saveCheckpoint` (a safetensors file whose metadata says
 *   `library: attention-hands-on`), it throws unless `overwrite: true`. An earlier checkpoint of
 *   ours is replaced without asking, as a training loop saving every N steps expects.
 * - Loading checks everything before changing anything: every variable of the module present with
 *   the same shape and dtype, no extra tensor, only finite values. On any mismatch the module keeps
 *   its weights and the error lists every difference.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import libraryPackage from '../package.json';
import { Module } from '../core/module';
import {
  SAFETENSORS_MAX_HEADER_BYTES,
  decodeSafetensors,
  encodeSafetensors,
  tensorBytes,
  tensorValues,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from './safetensors';

/** The version of this library, written into every checkpoint. */
export const LIBRARY_VERSION: string = libraryPackage.version;

/** The value of the `library` metadata key that marks a checkpoint written here. */
const LIBRARY_MARK = 'attention-hands-on';

/** What `saveCheckpoint` stores next to the weights. Every field is optional. */
export interface CheckpointInfo {
  /** The model's configuration (any JSON value), so the model can be built again. */
  config?: unknown;
  /** The seed of the run. */
  seed?: number;
  /** Metrics at save time, e.g. `{ loss: 0.12, accuracy: 0.98 }`. */
  metrics?: Record<string, number>;
  /** The training step at save time. */
  step?: number;
  /** Free text, e.g. what data the model was trained on. */
  notes?: string;
}

/** Options of `saveCheckpoint`. */
export interface SaveCheckpointOptions extends CheckpointInfo {
  /** Replace `path` even if it is not a checkpoint written by this library. Defaults to `false`. */
  overwrite?: boolean;
}

/** What `loadCheckpoint` returns: the stored info, the library version, and the raw metadata. */
export interface LoadedCheckpoint extends CheckpointInfo {
  /** Library version that wrote the file; `undefined` for a file from elsewhere. */
  libraryVersion?: string;
  /** The header's `__metadata__` as stored (string values). */
  metadata: Record<string, string>;
  /** Names of the tensors loaded, in the module's order. */
  names: string[];
}

const TF_TO_SAFETENSORS: Record<string, 'F32' | 'I32' | 'BOOL'> = {
  float32: 'F32',
  int32: 'I32',
  bool: 'BOOL',
};
const SAFETENSORS_TO_TF: Partial<Record<SafetensorsDtype, 'float32' | 'int32' | 'bool'>> = {
  F32: 'float32',
  I32: 'int32',
  BOOL: 'bool',
};

function checkModule(module: unknown): asserts module is Module {
  if (!(module instanceof Module)) {
    throw new TypeError(
      `module: expected a Module, got ${module === null ? 'null' : typeof module}`,
    );
  }
}

function toJson(value: unknown, name: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new TypeError(
      `${name}: expected a JSON value, got one that fails to serialize (${(e as Error).message})`,
    );
  }
  if (text === undefined)
    throw new TypeError(`${name}: expected a JSON value, got ${typeof value}`);
  return text;
}

function checkInfo(info: CheckpointInfo): Record<string, string> {
  if (info === null || typeof info !== 'object') {
    throw new TypeError(`info: expected an object, got ${String(info)}`);
  }
  const meta: Record<string, string> = { library: LIBRARY_MARK, library_version: LIBRARY_VERSION };
  meta.weight_layout = 'Linear weights are [in, out] (torch.nn.Linear stores [out, in])';
  if (info.config !== undefined) meta.config = toJson(info.config, 'config');
  if (info.seed !== undefined) {
    if (typeof info.seed !== 'number' || !Number.isFinite(info.seed)) {
      throw new TypeError(`seed: expected a finite number, got ${String(info.seed)}`);
    }
    meta.seed = JSON.stringify(info.seed);
  }
  if (info.step !== undefined) {
    if (typeof info.step !== 'number' || !Number.isInteger(info.step) || info.step < 0) {
      throw new TypeError(`step: expected an integer >= 0, got ${String(info.step)}`);
    }
    meta.step = JSON.stringify(info.step);
  }
  if (info.metrics !== undefined) {
    if (info.metrics === null || typeof info.metrics !== 'object' || Array.isArray(info.metrics)) {
      throw new TypeError(
        `metrics: expected an object of numbers, got ${JSON.stringify(info.metrics)}`,
      );
    }
    for (const [key, value] of Object.entries(info.metrics)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new TypeError(`metrics.${key}: expected a finite number, got ${String(value)}`);
      }
    }
    meta.metrics = JSON.stringify(info.metrics);
  }
  if (info.notes !== undefined) {
    if (typeof info.notes !== 'string')
      throw new TypeError(`notes: expected a string, got ${typeof info.notes}`);
    meta.notes = info.notes;
  }
  return meta;
}

/**
 * The bytes of a checkpoint of `module` (a safetensors file), for the browser or tests.
 * @param module its `namedVariables()` are stored under their dotted names.
 * @param info config, seed, metrics, step and notes to store in the metadata.
 */
export function checkpointBytes(module: Module, info: CheckpointInfo = {}): Uint8Array {
  checkModule(module);
  const metadata = checkInfo(info);
  const tensors: Array<[string, SafetensorsTensor]> = module.namedVariables().map(([name, v]) => {
    const dtype = TF_TO_SAFETENSORS[v.dtype];
    if (dtype === undefined) {
      throw new Error(`module.${name}: expected a float32, int32 or bool variable, got ${v.dtype}`);
    }
    const bytes = tensorBytes(v.dataSync() as Float32Array | Int32Array | Uint8Array, dtype);
    return [name, { dtype, shape: [...v.shape], data: bytes }];
  });
  return encodeSafetensors(tensors, metadata);
}

function parseJsonField(metadata: Record<string, string>, key: string, source: string): unknown {
  if (metadata[key] === undefined) return undefined;
  try {
    return JSON.parse(metadata[key]);
  } catch {
    throw new Error(`${source}: metadata ${key} is not valid JSON: ${metadata[key].slice(0, 80)}`);
  }
}

/**
 * Loads a checkpoint's bytes into `module`, after checking that the names, shapes and dtypes
 * match the module's `namedVariables()` exactly and that every value is finite. Nothing is
 * changed unless everything matches.
 * @param source how errors name the bytes (a path, a URL). Defaults to `checkpoint`.
 * @returns the stored config, seed, metrics, step, notes, library version and raw metadata.
 */
export function loadCheckpointBytes(
  module: Module,
  bytes: Uint8Array,
  source = 'checkpoint',
): LoadedCheckpoint {
  checkModule(module);
  let contents;
  try {
    contents = decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`${source}: not a readable safetensors checkpoint: ${(e as Error).message}`);
  }
  const stored = new Map(contents.tensors);
  const variables = module.namedVariables();
  const expected = new Set(variables.map(([name]) => name));
  const problems: string[] = [];
  const missing = variables.map(([name]) => name).filter((name) => !stored.has(name));
  if (missing.length > 0) problems.push(`missing in the file: ${missing.join(', ')}`);
  const unexpected = contents.tensors.map(([name]) => name).filter((name) => !expected.has(name));
  if (unexpected.length > 0) problems.push(`not in the module: ${unexpected.join(', ')}`);
  const values = new Map<string, ReturnType<typeof tensorValues>>();
  for (const [name, v] of variables) {
    const t = stored.get(name);
    if (t === undefined) continue;
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      problems.push(
        `${name}: shape [${t.shape.join(', ')}] in the file, [${v.shape.join(', ')}] in the module`,
      );
      continue;
    }
    if (SAFETENSORS_TO_TF[t.dtype] !== v.dtype) {
      problems.push(
        `${name}: dtype ${t.dtype} in the file, ${v.dtype} (${TF_TO_SAFETENSORS[v.dtype] ?? '?'}) in the module`,
      );
      continue;
    }
    const data = tensorValues(t);
    if (t.dtype === 'F32') {
      const bad = data.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) {
        problems.push(`${name}: value ${data[bad]} at flat index ${bad} (only finite values load)`);
        continue;
      }
    }
    values.set(name, data);
  }
  if (problems.length > 0) {
    throw new Error(
      `${source}: does not match the module (nothing was loaded):\n  ${problems.join('\n  ')}`,
    );
  }
  for (const [name, v] of variables) {
    tf.tidy(() => v.assign(tf.tensor(values.get(name)!, v.shape, v.dtype)));
  }
  const meta = contents.metadata;
  const loaded: LoadedCheckpoint = { metadata: meta, names: variables.map(([name]) => name) };
  if (meta.library_version !== undefined) loaded.libraryVersion = meta.library_version;
  if (meta.config !== undefined) loaded.config = parseJsonField(meta, 'config', source);
  if (meta.seed !== undefined) loaded.seed = parseJsonField(meta, 'seed', source) as number;
  if (meta.step !== undefined) loaded.step = parseJsonField(meta, 'step', source) as number;
  if (meta.metrics !== undefined) {
    loaded.metrics = parseJsonField(meta, 'metrics', source) as Record<string, number>;
  }
  if (meta.notes !== undefined) loaded.notes = meta.notes;
  return loaded;
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`path: expected a non-empty file path, got ${JSON.stringify(path)}`);
  }
}

/**
 * `true` if the file at `path` is a checkpoint written by this library. Reads only the header, so
 * a large unrelated file is not loaded into memory.
 */
async function isOurCheckpoint(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const length = new Uint8Array(8);
    if (size < 8 || (await handle.read(length, 0, 8, 0)).bytesRead < 8) return false;
    const n = new DataView(length.buffer).getBigUint64(0, true);
    if (n > BigInt(Math.min(SAFETENSORS_MAX_HEADER_BYTES, size - 8))) return false;
    const header = new Uint8Array(Number(n));
    await handle.read(header, 0, header.length, 8);
    const parsed: unknown = JSON.parse(new TextDecoder().decode(header));
    const meta = (parsed as { __metadata__?: { library?: unknown } } | null)?.__metadata__;
    return meta?.library === LIBRARY_MARK;
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

/**
 * Saves `module`'s named weights and `info` to `path` as a safetensors file, atomically (a
 * temporary file renamed over the target). Refuses to replace a file that is not a checkpoint
 * of this library unless `overwrite: true`.
 * @param module the model; every variable of `namedVariables()` is stored under its dotted name.
 * @param path the file to write, conventionally ending in `.safetensors`.
 * @param options config, seed, metrics, step, notes, and `overwrite`.
 */
export async function saveCheckpoint(
  module: Module,
  path: string,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  checkModule(module);
  checkPath(path);
  const { overwrite = false, ...info } = options ?? {};
  if (typeof overwrite !== 'boolean') {
    throw new TypeError(`overwrite: expected true or false, got ${String(overwrite)}`);
  }
  const bytes = checkpointBytes(module, info);
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory())
    throw new Error(`path ${path}: is a directory, expected a file path`);
  if (existing && !overwrite && !(await isOurCheckpoint(path))) {
    throw new Error(
      `path ${path}: exists and is not a checkpoint written by this library; pass overwrite: true to replace it`,
    );
  }
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw new Error(`path ${path}: could not write the checkpoint: ${(e as Error).message}`);
  }
}

/**
 * Loads the checkpoint at `path` into `module` (see `loadCheckpointBytes` for the checks). A
 * missing, truncated or corrupt file throws an error that names `path` and says what is wrong.
 * @returns the stored config, seed, metrics, step, notes, library version and raw metadata.
 */
export async function loadCheckpoint(module: Module, path: string): Promise<LoadedCheckpoint> {
  checkModule(module);
  checkPath(path);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`checkpoint ${path}: cannot read it: ${(e as Error).message}`);
  }
  return loadCheckpointBytes(module, bytes, `checkpoint ${path}`);
}
