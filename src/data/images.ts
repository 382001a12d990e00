/**
 * Small synthetic images and fixed, hand-designed convolution filters, for attention over
 * convolutional feature maps without any training: the images are drawn from a list of shapes
 * (deterministic, no randomness at all), and each filter answers one readable question ("is
 * there a vertical edge here?"), so every channel of the feature maps has a name.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../core/random';
import { assertTensor, checkFinite, checkInt, checkShape } from '../core/shapes';

/** A filled shape to draw. Coordinates are in pixels, row 0 at the top; `value` defaults to 1. */
export type ShapeSpec =
  | { kind: 'rect'; top: number; left: number; height: number; width: number; value?: number }
  | { kind: 'disk'; row: number; col: number; radius: number; value?: number }
  /** An isosceles triangle pointing up: apex at (`top`, `col`), base `width` wide on row `top + height - 1`. */
  | { kind: 'triangle'; top: number; col: number; height: number; width: number; value?: number };

function inside(s: ShapeSpec, r: number, c: number): boolean {
  if (s.kind === 'rect') {
    return r >= s.top && r < s.top + s.height && c >= s.left && c < s.left + s.width;
  }
  if (s.kind === 'disk') return (r - s.row) ** 2 + (c - s.col) ** 2 <= s.radius ** 2;
  // Row `top + i` spans half a width that grows linearly from 0 at the apex to width / 2 at the base.
  const i = r - s.top;
  if (i < 0 || i >= s.height) return false;
  const half = s.height === 1 ? s.width / 2 : (i / (s.height - 1)) * (s.width / 2);
  return Math.abs(c - s.col) <= half;
}

function checkShapeSpec(s: ShapeSpec, i: number): void {
  const where = `shapes[${i}]`;
  if (s === null || typeof s !== 'object' || !['rect', 'disk', 'triangle'].includes(s.kind)) {
    throw new TypeError(
      `${where}: expected { kind: 'rect' | 'disk' | 'triangle', ... }, got ${JSON.stringify(s)}`,
    );
  }
  const numbers: Record<string, unknown> =
    s.kind === 'rect'
      ? { top: s.top, left: s.left, height: s.height, width: s.width }
      : s.kind === 'disk'
        ? { row: s.row, col: s.col, radius: s.radius }
        : { top: s.top, col: s.col, height: s.height, width: s.width };
  for (const [name, v] of Object.entries(numbers)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TypeError(`${where}.${name}: expected a finite number, got ${String(v)}`);
    }
  }
  const value = s.value ?? 1;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new RangeError(`${where}.value: expected a number in [0, 1], got ${String(value)}`);
  }
}

/**
 * Draws filled shapes on a black (0) background; a later shape covers an earlier one.
 * Pixel `(r, c)` belongs to a disk when `(r - row)^2 + (c - col)^2 <= radius^2`.
 * @returns grey levels `[Hi, Wi]` in `[0, 1]` as plain arrays
 */
export function drawShapes(shapes: ShapeSpec[], height: number, width: number): number[][] {
  checkInt(height, 'height');
  checkInt(width, 'width');
  if (!Array.isArray(shapes)) {
    throw new TypeError(`shapes: expected an array of shapes, got ${typeof shapes}`);
  }
  shapes.forEach(checkShapeSpec);
  const pixels = Array.from({ length: height }, () => new Array<number>(width).fill(0));
  for (const s of shapes) {
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) if (inside(s, r, c)) pixels[r][c] = s.value ?? 1;
    }
  }
  return pixels;
}

/** Names of the built-in synthetic images. */
export const SYNTHETIC_IMAGE_NAMES = ['shapes', 'vertical-bars', 'horizontal-bars'] as const;

/** One of `SYNTHETIC_IMAGE_NAMES`. */
export type SyntheticImageName = (typeof SYNTHETIC_IMAGE_NAMES)[number];

/** A synthetic image and the shapes it was drawn from. */
export interface SyntheticImage {
  name: SyntheticImageName;
  /** Grey levels `[Hi, Wi]` in `[0, 1]`, `Hi = Wi = size`. */
  pixels: number[][];
  /** What was drawn, in pixel coordinates (e.g. to check that attention lands on the shapes). */
  shapes: ShapeSpec[];
}

/** Number of faint specks in the 'shapes' image, and their grey level. */
const SPECKS = { count: 24, value: 0.35 };

/** Faint one-pixel specks at fixed pseudo-random places (a fixed seed: the same on every machine). */
function specks(size: number): ShapeSpec[] {
  const rng = createRng(2018);
  return Array.from({ length: SPECKS.count }, () => ({
    kind: 'rect' as const,
    top: rng.int(2, size - 2),
    left: rng.int(2, size - 2),
    height: 1,
    width: 1,
    value: SPECKS.value,
  }));
}

/** The shapes of each built-in image, laid out on a `size x size` canvas (fractions of `size`). */
function layout(name: SyntheticImageName, size: number): ShapeSpec[] {
  const at = (f: number): number => Math.round(f * size);
  switch (name) {
    case 'shapes':
      // Faint one-pixel specks (clutter that edge filters still answer to), then a square, a disk
      // and a triangle: vertical, horizontal, curved and diagonal edges, apart from each other.
      return [
        ...specks(size),
        { kind: 'rect', top: at(0.12), left: at(0.1), height: at(0.3), width: at(0.3) },
        { kind: 'disk', row: at(0.3), col: at(0.7), radius: at(0.16), value: 0.8 },
        { kind: 'triangle', top: at(0.55), col: at(0.42), height: at(0.32), width: at(0.5) },
      ];
    case 'vertical-bars':
      // Tall thin bars: most edges are vertical.
      return [0.15, 0.35, 0.55, 0.75].map((f) => ({
        kind: 'rect' as const,
        top: at(0.1),
        left: at(f),
        height: at(0.8),
        width: Math.max(1, at(0.08)),
      }));
    case 'horizontal-bars':
      // The same bars turned by 90 degrees: most edges are horizontal.
      return [0.15, 0.35, 0.55, 0.75].map((f) => ({
        kind: 'rect' as const,
        top: at(f),
        left: at(0.1),
        height: Math.max(1, at(0.08)),
        width: at(0.8),
      }));
  }
}

/**
 * A small deterministic test image (same pixels on every machine):
 * - `'shapes'`: a bright square, a slightly dimmer disk and a triangle on black, with 24 faint
 *   one-pixel specks of grey level 0.35 scattered as clutter (drawn first, so shapes cover them);
 * - `'vertical-bars'` / `'horizontal-bars'`: four parallel bars, one image the other turned by 90 degrees.
 * @param size side length `Hi = Wi` in pixels, at least 16. Defaults to 40.
 */
export function syntheticImage(name: SyntheticImageName, size = 40): SyntheticImage {
  if (!SYNTHETIC_IMAGE_NAMES.includes(name)) {
    throw new RangeError(
      `name: expected one of ${SYNTHETIC_IMAGE_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  checkInt(size, 'size', 16);
  const shapes = layout(name, size);
  return { name, pixels: drawShapes(shapes, size, size), shapes };
}

/** A named 3 x 3 filter. */
export interface FeatureFilter {
  name: string;
  /** 3 x 3 weights; `conv2d` slides it over the image as a cross-correlation (no flip). */
  kernel: number[][];
}

/**
 * Six fixed 3 x 3 filters, each answering one question about a pixel's neighbourhood:
 * - `'vertical edge'`, `'horizontal edge'`: Sobel filters (left-right and top-bottom differences);
 * - `'diagonal \\'`, `'diagonal /'`: the Sobel idea turned by 45 degrees, for edges along each diagonal;
 * - `'spot'`: centre minus the mean of the 8 neighbours, large at corners, tips and small blobs;
 * - `'brightness'`: the 3 x 3 mean, large inside bright regions.
 * Edge filters are divided by 4, so a unit step edge gives a response of exactly 1.
 */
export function featureFilters(): FeatureFilter[] {
  const scale = (k: number[][], by: number): number[][] => k.map((row) => row.map((v) => v / by));
  return [
    {
      name: 'vertical edge',
      kernel: scale(
        [
          [-1, 0, 1],
          [-2, 0, 2],
          [-1, 0, 1],
        ],
        4,
      ),
    },
    {
      name: 'horizontal edge',
      kernel: scale(
        [
          [-1, -2, -1],
          [0, 0, 0],
          [1, 2, 1],
        ],
        4,
      ),
    },
    {
      name: 'diagonal \\',
      kernel: scale(
        [
          [0, 1, 2],
          [-1, 0, 1],
          [-2, -1, 0],
        ],
        4,
      ),
    },
    {
      name: 'diagonal /',
      kernel: scale(
        [
          [2, 1, 0],
          [1, 0, -1],
          [0, -1, -2],
        ],
        4,
      ),
    },
    {
      name: 'spot',
      kernel: scale(
        [
          [-1, -1, -1],
          [-1, 8, -1],
          [-1, -1, -1],
        ],
        8,
      ),
    },
    {
      name: 'brightness',
      kernel: scale(
        [
          [1, 1, 1],
          [1, 1, 1],
          [1, 1, 1],
        ],
        9,
      ),
    },
  ];
}

/**
 * Stacks filters into a conv2d filter tensor.
 * @returns `[3, 3, 1, C]` with `C = filters.length` (height, width, input channels, output channels)
 */
export function filterBank(filters: FeatureFilter[] = featureFilters()): tf.Tensor4D {
  if (!Array.isArray(filters) || filters.length === 0) {
    throw new RangeError('filters: expected a non-empty array of { name, kernel } filters');
  }
  filters.forEach((f, i) => {
    const k = f?.kernel;
    const ok =
      Array.isArray(k) &&
      k.length === 3 &&
      k.every((row) => Array.isArray(row) && row.length === 3 && row.every(Number.isFinite));
    if (!ok) {
      throw new Error(
        `filters[${i}].kernel: expected 3 x 3 finite numbers, got ${JSON.stringify(k)}`,
      );
    }
  });
  return tf.tidy(() => {
    // C kernels [3, 3] -> [3, 3, C] -> [3, 3, 1, C]
    const stacked = tf.stack(
      filters.map((f) => tf.tensor2d(f.kernel)),
      2,
    );
    return stacked.expandDims(2) as tf.Tensor4D;
  });
}

/**
 * Feature maps of a grey image: the magnitude of each filter's response,
 * `F[0, r, c, j] = | sum_{u, v} image[r + u, c + v] K_j[u + 1, v + 1] |` for `u, v` in `{-1, 0, 1}`,
 * with zeros outside the image ("same" padding). The magnitude makes a dark-to-bright and a
 * bright-to-dark edge count alike, and keeps features non-negative, like the output of a ReLU.
 * @param image grey levels `[Hi, Wi]` (plain arrays or a tensor)
 * @returns `[1, Hi, Wi, C]`, one channel per filter
 */
export function featureMaps(
  image: number[][] | tf.Tensor2D,
  filters: FeatureFilter[] = featureFilters(),
): tf.Tensor4D {
  let owned: tf.Tensor | null = null;
  if (!(image instanceof tf.Tensor)) {
    if (!Array.isArray(image) || image.length === 0 || !Array.isArray(image[0])) {
      throw new TypeError('image: expected grey levels [Hi, Wi] as nested arrays or a tf.Tensor2D');
    }
    const w = image[0].length;
    image.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== w) {
        throw new Error(
          `image: expected a rectangular [Hi, Wi] array, row ${i} differs from row 0`,
        );
      }
    });
    owned = tf.tensor2d(image);
  }
  const img = (owned ?? image) as tf.Tensor;
  try {
    assertTensor(img, 'image');
    checkShape(img, ['Hi', 'Wi'], 'image');
    checkFinite(img, 'image');
    const [height, width] = img.shape as [number, number];
    const bank = filterBank(filters);
    try {
      return tf.tidy(() => {
        const x = img.toFloat().reshape([1, height, width, 1]); // [Hi, Wi] -> [1, Hi, Wi, 1]
        return tf.abs(tf.conv2d(x as tf.Tensor4D, bank, 1, 'same')); // [1, Hi, Wi, 1] * [3, 3, 1, C] -> [1, Hi, Wi, C]
      });
    } finally {
      bank.dispose();
    }
  } finally {
    owned?.dispose();
  }
}

/** Names of the channels `featureMaps` makes with `filters`, in order (for plot labels). */
export function featureNames(filters: FeatureFilter[] = featureFilters()): string[] {
  if (!Array.isArray(filters)) {
    throw new TypeError(
      `filters: expected an array of { name, kernel } filters, got ${typeof filters}`,
    );
  }
  return filters.map((f) => f.name);
}
