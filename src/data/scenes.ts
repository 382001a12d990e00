/**
 * Generated visual scenes for chapter 00: coloured bars on a grid, the kind of display used in
 * visual-search experiments (Treisman & Gelade, 1980). Every generator is seeded, so a notebook
 * shows the same scene on every machine.
 *
 * A scene is a list of items, each on one cell of a `G x G` grid, with a colour and an
 * orientation. It can be turned into pixels (`rasteriseScene`, an RGB image `[Hi, Wi, 3]`) or into
 * one feature vector per item (`sceneKeys`, `[N, F]`), the item's "key" in attention terms.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInt } from '../core/shapes';
import { createRng, type Rng } from '../core/random';

/** Colours an item can have. */
export type ItemColour = 'red' | 'green' | 'blue';
/** Orientations an item can have. */
export type ItemOrientation = 'vertical' | 'horizontal';

/** The item colours, in the order of the colour features. */
export const ITEM_COLOURS: readonly ItemColour[] = ['red', 'green', 'blue'];
/** The item orientations, in the order of the orientation features. */
export const ITEM_ORIENTATIONS: readonly ItemOrientation[] = ['vertical', 'horizontal'];

/**
 * RGB of each colour, in 0..1 on a black background. Each has the same colour-opponent strength
 * (its own channel minus the strongest other one is 0.8) and the same brightness (max channel 1),
 * so no colour is more salient than another just by being brighter.
 */
export const COLOUR_RGB: Readonly<Record<ItemColour, readonly [number, number, number]>> = {
  red: [1, 0.2, 0.2],
  green: [0.2, 1, 0.2],
  blue: [0.2, 0.2, 1],
};

/** One feature per colour, then one per orientation: the feature axis `F` of keys and maps. */
export type FeatureName = ItemColour | ItemOrientation;
/** `['red', 'green', 'blue', 'vertical', 'horizontal']`, the order of the feature axis (F = 5). */
export const SCENE_FEATURES: readonly FeatureName[] = [...ITEM_COLOURS, ...ITEM_ORIENTATIONS];

/** One bar on the grid. */
export interface SceneItem {
  /** Grid row, 0 at the top. */
  row: number;
  /** Grid column, 0 at the left. */
  col: number;
  colour: ItemColour;
  orientation: ItemOrientation;
}

/** Items on a `gridSize x gridSize` grid, at most one per cell. */
export interface Scene {
  gridSize: number;
  items: SceneItem[];
  /** Index of the search target in `items`, or -1 when the scene has none. */
  targetIndex: number;
}

/** The kind of visual-search display. */
export type SearchKind = 'pop-out' | 'conjunction';

/** Options of `searchDisplay`. */
export interface SearchDisplayOptions {
  /**
   * `'pop-out'`: a red vertical target among green vertical distractors (it differs in colour
   * only). `'conjunction'`: a red vertical target among red horizontal and green vertical
   * distractors in equal numbers (it shares each of its features with half of them).
   */
  kind: SearchKind;
  /** Number of items N, target included, in `[2, gridSize^2]`. */
  setSize: number;
  /** Whether the target is there. Defaults to `true`; when absent, all N items are distractors. */
  targetPresent?: boolean;
  /** Grid side G. Defaults to 6 (36 cells). */
  gridSize?: number;
  seed: number;
}

function checkGrid(gridSize: unknown): number {
  return checkInt(gridSize, 'gridSize', 1, 64);
}

/** `count` distinct cells of a `g x g` grid in random order (a partial Fisher-Yates shuffle). */
function randomCells(rng: Rng, g: number, count: number): { row: number; col: number }[] {
  const cells = Array.from({ length: g * g }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = rng.int(i, cells.length);
    [cells[i], cells[j]] = [cells[j], cells[i]];
  }
  return cells.slice(0, count).map((c) => ({ row: Math.floor(c / g), col: c % g }));
}

/**
 * A visual-search display (Treisman & Gelade, 1980): N items at random cells of the grid, in a
 * random order in `items` (so the target's index says nothing about where it is).
 *
 * The target is always a red vertical bar. In a conjunction display with an odd number of
 * distractors, a coin flip decides which distractor type gets the extra item.
 */
export function searchDisplay(opts: SearchDisplayOptions): Scene {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError('searchDisplay: expected options { kind, setSize, seed }');
  }
  const { kind, targetPresent = true } = opts;
  if (kind !== 'pop-out' && kind !== 'conjunction') {
    throw new Error(`kind: expected 'pop-out' or 'conjunction', got ${String(kind)}`);
  }
  const gridSize = checkGrid(opts.gridSize ?? 6);
  const setSize = checkInt(opts.setSize, 'setSize', 2, gridSize * gridSize);
  checkInt(opts.seed, 'seed', -(2 ** 31), 2 ** 32);
  if (typeof targetPresent !== 'boolean') {
    throw new TypeError(`targetPresent: expected a boolean, got ${String(targetPresent)}`);
  }
  const rng = createRng(opts.seed);
  const cells = randomCells(rng, gridSize, setSize);
  const distractors = targetPresent ? setSize - 1 : setSize;
  // Conjunction distractors: half share the target's colour, half its orientation.
  let redHorizontal = Math.floor(distractors / 2);
  if (distractors % 2 === 1 && rng.uniform() < 0.5) redHorizontal += 1;
  const items: SceneItem[] = cells.map((cell, i) => {
    if (targetPresent && i === 0) return { ...cell, colour: 'red', orientation: 'vertical' };
    const d = targetPresent ? i - 1 : i;
    if (kind === 'pop-out') return { ...cell, colour: 'green', orientation: 'vertical' };
    return d < redHorizontal
      ? { ...cell, colour: 'red', orientation: 'horizontal' }
      : { ...cell, colour: 'green', orientation: 'vertical' };
  });
  // Cells came in random order, so item 0 (the target) sits at a random cell; shuffle the list
  // too, so that its index is random as well (a search that breaks ties by index must not find
  // the target first just because it is listed first).
  const perm = Array.from({ length: setSize }, (_, i) => i);
  for (let i = setSize - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return {
    gridSize,
    items: perm.map((p) => items[p]),
    targetIndex: targetPresent ? perm.indexOf(0) : -1,
  };
}

/** A group of odd items in `textureScene`. */
export interface OddItems {
  colour: ItemColour;
  orientation: ItemOrientation;
  /** How many, a positive integer. */
  count: number;
}

/** Options of `textureScene`. */
export interface TextureSceneOptions {
  /** Grid side G. Defaults to 8. */
  gridSize?: number;
  /** The item that fills every cell not taken by an odd item. Defaults to a green vertical bar. */
  background?: { colour: ItemColour; orientation: ItemOrientation };
  /** Groups of odd items, placed at random distinct cells. */
  odd: OddItems[];
  seed: number;
}

/**
 * A full grid (every cell holds an item): a uniform texture of `background` items with a few
 * odd items at random cells. Items are listed row by row; `targetIndex` is -1 (no target).
 */
export function textureScene(opts: TextureSceneOptions): Scene {
  if (opts === null || typeof opts !== 'object' || !Array.isArray(opts.odd)) {
    throw new TypeError('textureScene: expected options { odd: [...], seed }');
  }
  const gridSize = checkGrid(opts.gridSize ?? 8);
  checkInt(opts.seed, 'seed', -(2 ** 31), 2 ** 32);
  const background = opts.background ?? { colour: 'green', orientation: 'vertical' };
  checkItemLook(background.colour, background.orientation, 'background');
  let total = 0;
  opts.odd.forEach((o, i) => {
    checkItemLook(o.colour, o.orientation, `odd[${i}]`);
    total += checkInt(o.count, `odd[${i}].count`, 1);
  });
  if (total > gridSize * gridSize) {
    throw new RangeError(
      `odd: expected at most gridSize^2 = ${gridSize * gridSize} odd items, got ${total}`,
    );
  }
  const rng = createRng(opts.seed);
  const cells = randomCells(rng, gridSize, total);
  const look = new Map<number, { colour: ItemColour; orientation: ItemOrientation }>();
  let k = 0;
  for (const o of opts.odd) {
    for (let c = 0; c < o.count; c++, k++) {
      look.set(cells[k].row * gridSize + cells[k].col, {
        colour: o.colour,
        orientation: o.orientation,
      });
    }
  }
  const items: SceneItem[] = [];
  for (let row = 0; row < gridSize; row++) {
    for (let col = 0; col < gridSize; col++) {
      items.push({ row, col, ...(look.get(row * gridSize + col) ?? background) });
    }
  }
  return { gridSize, items, targetIndex: -1 };
}

function checkItemLook(colour: unknown, orientation: unknown, name: string): void {
  if (!ITEM_COLOURS.includes(colour as ItemColour)) {
    throw new Error(
      `${name}.colour: expected one of ${ITEM_COLOURS.join(', ')}, got ${String(colour)}`,
    );
  }
  if (!ITEM_ORIENTATIONS.includes(orientation as ItemOrientation)) {
    throw new Error(
      `${name}.orientation: expected one of ${ITEM_ORIENTATIONS.join(', ')}, got ${String(orientation)}`,
    );
  }
}

/** Checks that `scene` is a well-formed scene: items inside the grid, one per cell, known looks. */
export function checkScene(scene: Scene, name = 'scene'): void {
  if (scene === null || typeof scene !== 'object' || !Array.isArray(scene.items)) {
    throw new TypeError(`${name}: expected a scene { gridSize, items, targetIndex }`);
  }
  const g = checkGrid(scene.gridSize);
  if (scene.items.length === 0) throw new Error(`${name}: expected at least one item, got 0`);
  const seen = new Set<number>();
  scene.items.forEach((it, i) => {
    checkInt(it.row, `${name}.items[${i}].row`, 0, g - 1);
    checkInt(it.col, `${name}.items[${i}].col`, 0, g - 1);
    checkItemLook(it.colour, it.orientation, `${name}.items[${i}]`);
    const cell = it.row * g + it.col;
    if (seen.has(cell)) {
      throw new Error(
        `${name}.items[${i}]: expected one item per cell, got a second item at row ${it.row}, col ${it.col}`,
      );
    }
    seen.add(cell);
  });
  checkInt(scene.targetIndex, `${name}.targetIndex`, -1, scene.items.length - 1);
}

/** Options of `rasteriseScene`. Sizes are odd so that each bar sits exactly in its cell's centre. */
export interface RasteriseOptions {
  /** Side of one grid cell in pixels, odd. Defaults to 13. */
  cellSize?: number;
  /** Long side of a bar in pixels, odd, at most `cellSize`. Defaults to 9. */
  barLength?: number;
  /** Short side of a bar in pixels, odd, at most `barLength`. Defaults to 3. */
  barWidth?: number;
}

/** Resolved rasterisation sizes (defaults applied and checked). */
export function rasterSizes(opts: RasteriseOptions = {}): Required<RasteriseOptions> {
  const odd = (v: number, name: string, max: number): number => {
    checkInt(v, name, 1, max);
    if (v % 2 === 0) throw new RangeError(`${name}: expected an odd number of pixels, got ${v}`);
    return v;
  };
  const cellSize = odd(opts.cellSize ?? 13, 'cellSize', 255);
  const barLength = odd(opts.barLength ?? 9, 'barLength', cellSize);
  const barWidth = odd(opts.barWidth ?? 3, 'barWidth', barLength);
  return { cellSize, barLength, barWidth };
}

/**
 * Draws a scene as an RGB image: black background, each item a bar of its colour centred in its
 * cell, vertical (`barWidth` wide, `barLength` tall) or horizontal (the transpose).
 * @returns `[Hi, Wi, 3]` float32 in 0..1 with `Hi = Wi = gridSize * cellSize`. Dispose it when done.
 */
export function rasteriseScene(scene: Scene, opts: RasteriseOptions = {}): tf.Tensor3D {
  checkScene(scene);
  const { cellSize, barLength, barWidth } = rasterSizes(opts);
  const side = scene.gridSize * cellSize;
  const pixels = new Float32Array(side * side * 3);
  const half = (cellSize - 1) / 2;
  for (const it of scene.items) {
    const [h, w] = it.orientation === 'vertical' ? [barLength, barWidth] : [barWidth, barLength];
    const top = it.row * cellSize + half - (h - 1) / 2;
    const left = it.col * cellSize + half - (w - 1) / 2;
    const rgb = COLOUR_RGB[it.colour];
    for (let y = top; y < top + h; y++) {
      for (let x = left; x < left + w; x++) pixels.set(rgb, (y * side + x) * 3);
    }
  }
  return tf.tensor3d(pixels, [side, side, 3]);
}

/**
 * One feature vector per item, its "key": a one-hot colour followed by a one-hot orientation, in
 * the order of `SCENE_FEATURES` (`[red, green, blue, vertical, horizontal]`).
 * @returns `[N, F]` float32 with N = number of items, F = 5.
 */
export function sceneKeys(scene: Scene): tf.Tensor2D {
  checkScene(scene);
  const F = SCENE_FEATURES.length;
  const data = new Float32Array(scene.items.length * F);
  scene.items.forEach((it, i) => {
    data[i * F + SCENE_FEATURES.indexOf(it.colour)] = 1;
    data[i * F + SCENE_FEATURES.indexOf(it.orientation)] = 1;
  });
  return tf.tensor2d(data, [scene.items.length, F]);
}
