/**
 * Colour maps shared by both renderers. Each map is a list of evenly spaced anchor colours with
 * linear interpolation in between; the SVG renderer samples it per cell and the plotly renderer
 * gets the same anchors as a colorscale, so a value has the same colour in both outputs.
 */

/** Names of the colour maps the figures understand. */
export type ColormapName = 'viridis' | 'redBlue';

/** An `[r, g, b]` colour with channels in 0..255. */
export type Rgb = [number, number, number];

/**
 * Viridis sampled at t = 0, 1/8, ..., 1. Perceptually uniform and readable in grey scale, which is
 * why attention weights (0..1) use it by default.
 */
const VIRIDIS: readonly Rgb[] = [
  [68, 1, 84], // #440154
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37], // #fde725
];

/**
 * A diverging map for signed values (scores, gradients, differences): blue at t = 0, near white
 * at t = 0.5, red at t = 1. Centre it on zero by giving a symmetric range, e.g. zmin = -zmax.
 */
const RED_BLUE: readonly Rgb[] = [
  [33, 102, 172],
  [67, 147, 195],
  [146, 197, 222],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [244, 165, 130],
  [214, 96, 77],
  [178, 24, 43],
];

const ANCHORS: Record<ColormapName, readonly Rgb[]> = { viridis: VIRIDIS, redBlue: RED_BLUE };

/** Throws unless `name` is a known colour map. */
export function checkColormap(name: unknown, label = 'colormap'): ColormapName {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(ANCHORS, name)) {
    throw new Error(
      `${label}: expected one of ${Object.keys(ANCHORS)
        .map((n) => `'${n}'`)
        .join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  return name as ColormapName;
}

function sample(anchors: readonly Rgb[], t: number): Rgb {
  // NaN has no place on the scale; callers draw missing values themselves, so map it to the start.
  const u = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t));
  const pos = u * (anchors.length - 1);
  const i = Math.min(anchors.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = anchors[i];
  const b = anchors[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as Rgb;
}

/** Viridis at `t` (clamped to [0, 1]): dark purple #440154 at 0, yellow #fde725 at 1. */
export function viridis(t: number): Rgb {
  return sample(VIRIDIS, t);
}

/** The diverging map at `t` (clamped to [0, 1]): blue at 0, near white at 0.5, red at 1. */
export function redBlue(t: number): Rgb {
  return sample(RED_BLUE, t);
}

/** The colour of colour map `name` at `t` (clamped to [0, 1]). */
export function colorAt(name: ColormapName, t: number): Rgb {
  return sample(ANCHORS[checkColormap(name)], t);
}

/**
 * The plotly colorscale for `name`: `[[0, 'rgb(68,1,84)'], ..., [1, 'rgb(253,231,37)']]`, built
 * from the same anchors as `viridis`/`redBlue` so the interactive and static figures agree.
 */
export function colorscaleFor(name: ColormapName): [number, string][] {
  const anchors = ANCHORS[checkColormap(name)];
  return anchors.map((c, i) => [
    Number((i / (anchors.length - 1)).toFixed(4)),
    `rgb(${c[0]},${c[1]},${c[2]})`,
  ]);
}
