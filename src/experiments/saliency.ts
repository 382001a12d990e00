/**
 * Saliency for chapter 00: what stands out in a scene by itself (bottom-up) and what matches the
 * task (top-down).
 *
 * - Bottom-up saliency is a property of the keys alone: how much the features at a place differ
 *   from the features around it (centre-surround contrast), per feature map, with each map
 *   weighted by how clearly a single place stands out in it (after Itti, Koch & Niebur, 1998).
 * - Top-down saliency needs a query: the task's feature template `q`, matched against the features
 *   `k(x)` at each place, `q . k(x)` — the same dot product attention uses to score keys.
 *
 * The feature axis `F` follows `SCENE_FEATURES`: `[red, green, blue, vertical, horizontal]`.
 */
import * as tf from '@tensorflow/tfjs';
import {
  assertTensor,
  checkDtype,
  checkFinite,
  checkInt,
  checkShape,
  formatShape,
} from '../core/shapes';
import { SCENE_FEATURES, rasterSizes, type FeatureName } from '../data/scenes';

/** Sizes the pixel saliency functions need; they match the scene's rasterisation. */
export interface SaliencyOptions {
  /** Side of one grid cell in pixels (odd): the centre window. Defaults to 13. */
  cellSize?: number;
  /** Bar length in pixels (odd): the window of the orientation filters. Defaults to 9. */
  barLength?: number;
  /** Side of the surround window in cells (odd). Defaults to 5. */
  surroundCells?: number;
}

function resolve(opts: SaliencyOptions): Required<SaliencyOptions> {
  const { cellSize, barLength } = rasterSizes({
    cellSize: opts.cellSize,
    barLength: opts.barLength,
    barWidth: 1,
  });
  const surroundCells = checkInt(opts.surroundCells ?? 5, 'surroundCells', 1, 99);
  if (surroundCells % 2 === 0) {
    throw new RangeError(`surroundCells: expected an odd number of cells, got ${surroundCells}`);
  }
  return { cellSize, barLength, surroundCells };
}

function checkImage(image: tf.Tensor3D): [number, number] {
  checkShape(image, ['Hi', 'Wi', 3], 'image');
  checkDtype(image, 'float32', 'image');
  checkFinite(image, 'image');
  return [image.shape[0], image.shape[1]];
}

/**
 * Mean over a `size x size` window centred on each pixel, for every channel. The border is
 * extended by mirroring (`symmetric`): a grid of cells that are symmetric about their centres
 * then continues periodically, so a uniform texture stays uniform up to the image border.
 * Separable: a `[size, 1]` then a `[1, size]` average pool, `O(Hi Wi size)` instead of `size^2`.
 * @param maps `[Hi, Wi, C]`, with `(size - 1) / 2 <= min(Hi, Wi)`
 * @returns `[Hi, Wi, C]`
 */
function boxMean(maps: tf.Tensor3D, size: number): tf.Tensor3D {
  const [h, w, c] = maps.shape;
  const pad = (size - 1) / 2;
  if (pad > Math.min(h, w)) {
    throw new RangeError(
      `window of ${size} pixels: needs an image of at least ${pad} x ${pad} pixels, got ${h} x ${w}`,
    );
  }
  return tf.tidy(() => {
    const x = tf.mirrorPad(
      maps.reshape([1, h, w, c]),
      [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ],
      'symmetric',
    ); // [1, Hi + 2p, Wi + 2p, C]
    const rows = tf.avgPool(x as tf.Tensor4D, [size, 1], 1, 'valid'); // [1, Hi, Wi + 2p, C]
    return tf.avgPool(rows, [1, size], 1, 'valid').reshape([h, w, c]) as tf.Tensor3D; // [1, Hi, Wi, C] -> [Hi, Wi, C]
  });
}

/**
 * Mean over a line of `size` pixels centred on each pixel, vertical (`size x 1`) or horizontal
 * (`1 x size`). Zero padding: outside the image is black, like the margins, so a bar at the
 * border gets the same response as one in the middle ('same' pooling would average over the
 * pixels inside the image only).
 * @param x `[1, Hi, Wi, 1]`
 * @returns `[1, Hi, Wi, 1]`
 */
function lineMean(x: tf.Tensor4D, size: number, direction: 'vertical' | 'horizontal'): tf.Tensor4D {
  const p = (size - 1) / 2;
  const vertical = direction === 'vertical';
  const padding: [number, number][] = [
    [0, 0],
    vertical ? [p, p] : [0, 0],
    vertical ? [0, 0] : [p, p],
    [0, 0],
  ];
  const window: [number, number] = vertical ? [size, 1] : [1, size];
  return tf.avgPool(tf.pad(x, padding), window, 1, 'valid'); // [1, Hi + 2p, Wi, 1] -> [1, Hi, Wi, 1] (or along Wi)
}

/**
 * Feature maps of an RGB image, one channel per entry of `SCENE_FEATURES`:
 * - colour (opponent channels): `red = max(0, R - max(G, B))`, likewise green and blue;
 * - orientation from the brightness `I = max(R, G, B)`: with `m_v` and `m_h` the means of `I`
 *   over a vertical (`barLength x 1`) and a horizontal (`1 x barLength`) window,
 *   `vertical = I max(0, m_v - m_h)` and `horizontal = I max(0, m_h - m_v)`. The factor `I`
 *   keeps the response on the bar itself: the dark pixels beside a vertical bar also have
 *   `m_h > m_v`, but they are background, not a horizontal bar.
 * @param image `[Hi, Wi, 3]` float32 in 0..1 (e.g. from `rasteriseScene`)
 * @returns `[Hi, Wi, F]` with F = 5
 */
export function sceneFeatureMaps(image: tf.Tensor3D, opts: SaliencyOptions = {}): tf.Tensor3D {
  const [h, w] = checkImage(image);
  const { barLength } = resolve(opts);
  return tf.tidy(() => {
    const [r, g, b] = tf.unstack(image, 2) as tf.Tensor2D[]; // [Hi, Wi, 3] -> 3 x [Hi, Wi]
    const opponent = (own: tf.Tensor2D, a: tf.Tensor2D, c: tf.Tensor2D) =>
      tf.relu(tf.sub(own, tf.maximum(a, c)));
    const brightness = tf.max(image, 2) as tf.Tensor2D; // [Hi, Wi, 3] -> [Hi, Wi]
    const bright = brightness.reshape([1, h, w, 1]) as tf.Tensor4D; // [Hi, Wi] -> [1, Hi, Wi, 1]
    const mv = lineMean(bright, barLength, 'vertical').reshape([h, w]); // [1, Hi, Wi, 1] -> [Hi, Wi]
    const mh = lineMean(bright, barLength, 'horizontal').reshape([h, w]);
    const maps = [
      opponent(r, g, b),
      opponent(g, r, b),
      opponent(b, r, g),
      tf.mul(brightness, tf.relu(tf.sub(mv, mh))),
      tf.mul(brightness, tf.relu(tf.sub(mh, mv))),
    ];
    return tf.stack(maps, 2) as tf.Tensor3D; // 5 x [Hi, Wi] -> [Hi, Wi, F]
  });
}

/**
 * Centre-surround contrast per map: `C = |mean_centre(F) - mean_surround(F)|`, with a centre
 * window of one cell and a surround of `surroundCells` cells. A place whose features match its
 * neighbourhood gets 0; an odd item gets a blob. In a uniform texture both windows cover whole
 * cells, so they see the same average and the contrast vanishes.
 * @param maps `[Hi, Wi, F]` feature maps
 * @returns `[Hi, Wi, F]`
 */
export function centreSurround(maps: tf.Tensor3D, opts: SaliencyOptions = {}): tf.Tensor3D {
  checkShape(maps, ['Hi', 'Wi', 'F'], 'maps');
  checkDtype(maps, 'float32', 'maps');
  checkFinite(maps, 'maps');
  const { cellSize, surroundCells } = resolve(opts);
  return tf.tidy(
    () =>
      tf.abs(
        tf.sub(boxMean(maps, cellSize), boxMean(maps, cellSize * surroundCells)),
      ) as tf.Tensor3D,
  );
}

/**
 * Weights of the map normalisation, per map (feature) `f`: with `M1_f` its highest peak and
 * `M2_f` the runner-up (0 when there is only one peak), `w_f = (1 - M2_f / M1_f)^2`, and 0 for
 * an all-zero map. A map with one clear winner gets `w = 1`; a map whose top value is shared by
 * two or more places gets `w = 0`: it says nothing about where to look.
 * @param values `[..., K, F]`: K places per map
 * @param candidates `[..., K, F]` bool: which places count as peaks (local maxima)
 * @returns `max` (M1) and `weight`, both `[..., 1, F]`
 */
function peakWeights(
  values: tf.Tensor,
  candidates: tf.Tensor,
): { max: tf.Tensor; weight: tf.Tensor } {
  const rank = values.rank;
  const k = values.shape[rank - 2];
  const peaks = tf.where(candidates, values, tf.zerosLike(values)); // [..., K, F]
  // topk works on the last axis: move K there.
  const axes = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  const top = tf.topk(tf.transpose(peaks, axes), Math.min(2, k)).values; // [..., F, K] -> [..., F, 2]
  const lead = values.shape.slice(0, -2);
  const f = values.shape[rank - 1];
  const first = tf.max(values, -2, true); // [..., 1, F]: the highest value is always a peak
  const second =
    k >= 2
      ? tf.slice(top, [...lead.map(() => 0), 0, 1], [...lead, f, 1]).reshape([...lead, 1, f]) // [..., F, 1] -> [..., 1, F]
      : tf.zerosLike(first);
  const weight = tf.mul(
    tf.square(tf.sub(1, tf.divNoNan(second, first))),
    tf.cast(tf.greater(first, 0), 'float32'),
  );
  return { max: first, weight };
}

/** What `normaliseMaps` returns. */
export interface NormalisedMaps {
  /** `[Hi, Wi, F]`: each map scaled to a maximum of 1, then multiplied by its weight. */
  maps: tf.Tensor3D;
  /** `[F]`: the weight `w_f` of each map. */
  weights: tf.Tensor1D;
}

/**
 * Map normalisation in the spirit of Itti, Koch & Niebur (1998): each contrast map is scaled to
 * a maximum of 1 and multiplied by `w_f = (1 - M2_f / M1_f)^2`, where `M1_f` is its highest peak
 * and `M2_f` the runner-up. (Itti et al. compare the top peak with the mean of the other peaks;
 * comparing it with the strongest competitor suppresses a shared feature completely.) Peaks are
 * found at the scale of items: the maximum of each grid cell, when it is the largest of its
 * 3 x 3 neighbourhood of cells. A map in which one item stands out keeps its strength; a map
 * with several equal peaks (a feature many items share) is suppressed.
 * @param contrast `[Hi, Wi, F]` non-negative (e.g. from `centreSurround`), Hi and Wi at least one cell
 */
export function normaliseMaps(contrast: tf.Tensor3D, opts: SaliencyOptions = {}): NormalisedMaps {
  const dims = checkShape(contrast, ['Hi', 'Wi', 'F'], 'contrast');
  checkDtype(contrast, 'float32', 'contrast');
  checkFinite(contrast, 'contrast');
  const { cellSize } = resolve(opts);
  const [h, w, f] = [dims.Hi.size, dims.Wi.size, dims.F.size];
  if (h < cellSize || w < cellSize) {
    throw new RangeError(
      `contrast: expected at least one ${cellSize} x ${cellSize} cell, got ${formatShape(contrast.shape)}`,
    );
  }
  return tf.tidy(() => {
    const x = contrast.reshape([1, h, w, f]) as tf.Tensor4D; // [Hi, Wi, F] -> [1, Hi, Wi, F]
    const cells = tf.maxPool(x, cellSize, cellSize, 'valid'); // [1, Gh, Gw, F]: one value per cell
    const local = tf.maxPool(cells, 3, 1, 'same'); // the largest of each 3 x 3 neighbourhood
    const k = cells.shape[1] * cells.shape[2];
    const { max, weight } = peakWeights(
      cells.reshape([k, f]), // [1, Gh, Gw, F] -> [K, F]
      tf.greaterEqual(cells, local).reshape([k, f]),
    );
    const maps = tf.mul(tf.divNoNan(contrast, max), weight) as tf.Tensor3D; // [Hi, Wi, F] * [1, F]
    return { maps, weights: weight.reshape([f]) as tf.Tensor1D };
  });
}

/**
 * Bottom-up saliency map: the sum over features of the normalised centre-surround contrast,
 * `S(x) = sum_f N(|c_f(x) - s_f(x)|)` (features from `sceneFeatureMaps`, `N` from
 * `normaliseMaps`). It depends on the scene only, not on the task.
 * @param image `[Hi, Wi, 3]` float32 in 0..1
 * @returns `[Hi, Wi]`
 */
export function bottomUpSaliency(image: tf.Tensor3D, opts: SaliencyOptions = {}): tf.Tensor2D {
  checkImage(image);
  return tf.tidy(() => {
    const contrast = centreSurround(sceneFeatureMaps(image, opts), opts);
    return tf.sum(normaliseMaps(contrast, opts).maps, 2) as tf.Tensor2D; // [Hi, Wi, F] -> [Hi, Wi]
  });
}

/**
 * A query over the scene features from named weights, e.g. `featureQuery({ horizontal: 1 })` or
 * `featureQuery({ red: 1, vertical: 1 })`; features not named get 0.
 * @returns `[F]` in the order of `SCENE_FEATURES`
 */
export function featureQuery(weights: Partial<Record<FeatureName, number>>): tf.Tensor1D {
  if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) {
    throw new TypeError(
      `weights: expected an object like { red: 1, vertical: 0.5 }, got ${String(weights)}`,
    );
  }
  for (const [name, v] of Object.entries(weights)) {
    if (!SCENE_FEATURES.includes(name as FeatureName)) {
      throw new Error(
        `weights: expected features among ${SCENE_FEATURES.join(', ')}, got "${name}"`,
      );
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TypeError(`weights.${name}: expected a finite number, got ${String(v)}`);
    }
  }
  return tf.tensor1d(SCENE_FEATURES.map((name) => weights[name] ?? 0));
}

function checkQuery(query: tf.Tensor1D, f: number): void {
  checkShape(query, [f], 'query');
  checkDtype(query, 'float32', 'query');
  checkFinite(query, 'query');
}

/**
 * Top-down saliency map: the match between the task's feature template (the query `q`) and the
 * features at each place, averaged over one cell, `T(x) = sum_f q_f mean_centre(F_f)(x)`. The
 * same scene gives different maps for different tasks.
 * @param image `[Hi, Wi, 3]` float32 in 0..1
 * @param query `[F]` (e.g. from `featureQuery`)
 * @returns `[Hi, Wi]`
 */
export function topDownSaliency(
  image: tf.Tensor3D,
  query: tf.Tensor1D,
  opts: SaliencyOptions = {},
): tf.Tensor2D {
  const [h, w] = checkImage(image);
  const f = SCENE_FEATURES.length;
  checkQuery(query, f);
  const { cellSize } = resolve(opts);
  return tf.tidy(() => {
    const local = boxMean(sceneFeatureMaps(image, opts), cellSize); // [Hi, Wi, F]
    // [Hi * Wi, F] x [F, 1] -> [Hi * Wi, 1] -> [Hi, Wi]
    return tf
      .matMul(local.reshape([h * w, f]), query.reshape([f, 1]))
      .reshape([h, w]) as tf.Tensor2D;
  });
}

function checkKeys(keys: unknown): number[] {
  assertTensor(keys, 'keys');
  if (keys.rank < 2) {
    throw new Error(`keys: expected shape [..., N, F], got ${formatShape(keys.shape)}`);
  }
  checkDtype(keys, 'float32', 'keys');
  checkFinite(keys, 'keys');
  if (keys.size === 0) {
    throw new Error(`keys: expected non-empty [..., N, F], got ${formatShape(keys.shape)}`);
  }
  return keys.shape;
}

/**
 * Bottom-up saliency of items from their keys (one feature vector per item), the item-level
 * version of `bottomUpSaliency`:
 * 1. contrast of item `i` on feature `f` against the mean of the other items,
 *    `c_if = |k_if - (1 / (N - 1)) sum_{j != i} k_jf|`;
 * 2. map normalisation: `w_f = (1 - M2_f / M1_f)^2` with `M1_f` the largest and `M2_f` the
 *    second largest of `c_1f, ..., c_Nf`;
 * 3. `s_i = sum_f w_f c_if / M1_f`.
 * An item that is alone in having some feature value scores high. When every feature value is
 * shared by at least two items (a conjunction display with at least two distractors of each
 * kind), the top contrast of every map is shared, every map gets weight 0 and every item scores 0.
 * @param keys `[..., N, F]` float32, N >= 2
 * @returns `[..., N]`
 */
export function itemSaliency(keys: tf.Tensor): tf.Tensor {
  const shape = checkKeys(keys);
  const n = shape[shape.length - 2];
  if (n < 2) {
    throw new Error(
      `keys: expected at least 2 items (N >= 2) in [..., N, F], got ${formatShape(shape)}`,
    );
  }
  return tf.tidy(() => {
    const others = tf.div(tf.sub(tf.sum(keys, -2, true), keys), n - 1); // [..., N, F]: leave-one-out mean
    const contrast = tf.abs(tf.sub(keys, others)); // [..., N, F]
    const { max, weight } = peakWeights(contrast, tf.onesLike(contrast).cast('bool'));
    return tf.sum(tf.mul(tf.divNoNan(contrast, max), weight), -1); // [..., N, F] -> [..., N]
  });
}

/**
 * Top-down score of each item: how well its key matches the query, `score_i = q . k_i`.
 * @param keys `[..., N, F]` float32
 * @param query `[F]`
 * @returns `[..., N]`
 */
export function itemMatch(keys: tf.Tensor, query: tf.Tensor1D): tf.Tensor {
  const shape = checkKeys(keys);
  const f = shape[shape.length - 1];
  checkQuery(query, f);
  return tf.tidy(() => {
    const flat = keys.reshape([-1, f]); // [..., N, F] -> [B * N, F]
    return tf.matMul(flat, query.reshape([f, 1])).reshape(shape.slice(0, -1)); // [B * N, 1] -> [..., N]
  });
}
