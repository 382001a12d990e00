/**
 * The Vision Transformer (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words"): an image
 * cut into `P x P` patches is a sequence of `N` tokens. Each flattened patch is mapped to width
 * `D` by one linear layer (the same as a convolution with a `P x P` kernel and stride `P`), a
 * learned class token is put in front, learned position embeddings are added, a stack of pre-norm
 * Transformer encoder blocks mixes the tokens, and an MLP head reads the class token's final
 * vector to give the class scores.
 */
import * as tf from '@tensorflow/tfjs';
import { lecunUniform, normalInit } from '../core/init';
import { LayerNorm } from '../core/layer-norm';
import { Linear } from '../core/linear';
import { Module, parameter } from '../core/module';
import { op } from '../core/op';
import { deriveSeed } from '../core/random';
import { checkDtype, checkInt, checkShape, dimOf } from '../core/shapes';
import { EncoderBlock } from './transformer-blocks';

function checkPatchSize(height: number, width: number, patchSize: number): void {
  checkInt(patchSize, 'patchSize');
  if (height % patchSize !== 0 || width % patchSize !== 0) {
    throw new RangeError(
      `patchSize: expected a divisor of the image height ${height} and width ${width}, got ${patchSize}`,
    );
  }
}

/**
 * Cuts images into non-overlapping `P x P` patches, row by row (patch `n` is at grid row
 * `floor(n / Gw)`, column `n % Gw`), each flattened in (row, column, channel) order.
 * @param images `[B, Hi, Wi, C]`, `Hi` and `Wi` multiples of `patchSize`
 * @returns `[B, N, P*P*C]` with `N = (Hi / P) * (Wi / P)`
 */
export function patchify(images: tf.Tensor, patchSize: number): tf.Tensor3D {
  return op(
    'patchify',
    () => {
      const d = checkShape(images, ['B', 'Hi', 'Wi', 'C'], 'images');
      checkPatchSize(d.Hi.size, d.Wi.size, patchSize);
    },
    () => {
      const [b, hi, wi, c] = images.shape as number[];
      const p = patchSize;
      const [gh, gw] = [hi / p, wi / p];
      return images
        .reshape([b, gh, p, gw, p, c]) // [B, Hi, Wi, C] -> [B, Gh, P, Gw, P, C]
        .transpose([0, 1, 3, 2, 4, 5]) // -> [B, Gh, Gw, P, P, C]
        .reshape([b, gh * gw, p * p * c]) as tf.Tensor3D; // -> [B, N, P*P*C]
    },
  );
}

/**
 * Inverse of `patchify`: puts the patches back in their places.
 * @param patches `[B, N, P*P*C]` with `N = (height / P) * (width / P)`
 * @returns `[B, Hi, Wi, C]`
 */
export function unpatchify(
  patches: tf.Tensor,
  patchSize: number,
  height: number,
  width: number,
): tf.Tensor4D {
  return op(
    'unpatchify',
    () => {
      checkInt(height, 'height');
      checkInt(width, 'width');
      checkPatchSize(height, width, patchSize);
      const n = (height / patchSize) * (width / patchSize);
      const d = checkShape(patches, ['B', n, null], 'patches');
      if (d.B.size > 0 && dimOf(patches, 2) % (patchSize * patchSize) !== 0) {
        throw new RangeError(
          `patches: expected a last axis P*P*C, a multiple of ${patchSize * patchSize}, got ${dimOf(patches, 2)}`,
        );
      }
    },
    () => {
      const [b, , ppc] = patches.shape as number[];
      const p = patchSize;
      const c = ppc / (p * p);
      const [gh, gw] = [height / p, width / p];
      return patches
        .reshape([b, gh, gw, p, p, c]) // [B, N, P*P*C] -> [B, Gh, Gw, P, P, C]
        .transpose([0, 1, 3, 2, 4, 5]) // -> [B, Gh, P, Gw, P, C]
        .reshape([b, height, width, c]) as tf.Tensor4D; // -> [B, Hi, Wi, C]
    },
  );
}

/**
 * Puts the class token in front of every sequence and adds the position embeddings.
 * @param tokens `[B, N, D]` patch embeddings
 * @param classToken `[1, 1, D]` (or `[D]`)
 * @param positions `[1, N+1, D]` (or `[N+1, D]`), row 0 for the class token
 * @returns `[B, N+1, D]`
 */
export function addClassToken(
  tokens: tf.Tensor,
  classToken: tf.Tensor,
  positions: tf.Tensor,
): tf.Tensor3D {
  return op(
    'addClassToken',
    () => {
      const dims = checkShape(tokens, ['B', 'N', 'D'], 'tokens');
      checkShape(classToken, classToken.rank === 1 ? ['D'] : [1, 1, 'D'], 'classToken', { dims });
      const n1 = dims.N.size + 1;
      checkShape(positions, positions.rank === 2 ? [n1, 'D'] : [1, n1, 'D'], 'positions', {
        dims,
      });
    },
    () => {
      const [b, , d] = tokens.shape as number[];
      const cls = tf.broadcastTo(classToken.reshape([1, 1, d]), [b, 1, d]); // [D] -> [B, 1, D]
      const seq = tf.concat([cls, tokens], 1); // [B, N+1, D]
      return tf.add(seq, positions.reshape([1, -1, d])) as tf.Tensor3D; // + [1, N+1, D]
    },
  );
}

/** Configuration of `PatchEmbedding`. */
export interface PatchEmbeddingConfig {
  /** Patch side `P` in pixels. */
  patchSize: number;
  /** Image channels `C`. Defaults to 1. */
  channels?: number;
  /** Output width `D`. */
  dModel: number;
  /** Seed of the initial weights. Defaults to 0. */
  seed?: number;
}

/**
 * Linear patch embedding: `patchify` then one `Linear` `[P*P*C, D]`. Its weight reshaped to
 * `[P, P, C, D]` is the filter of the equivalent strided convolution (`asConvFilter`).
 */
export class PatchEmbedding extends Module {
  readonly proj: Linear;
  readonly patchSize: number;
  readonly channels: number;
  readonly dModel: number;

  constructor(config: PatchEmbeddingConfig) {
    super();
    this.patchSize = checkInt(config.patchSize, 'patchSize');
    this.channels = checkInt(config.channels ?? 1, 'channels');
    this.dModel = checkInt(config.dModel, 'dModel');
    const p = this.patchSize;
    this.proj = new Linear({
      inFeatures: p * p * this.channels,
      outFeatures: this.dModel,
      seed: config.seed ?? 0,
    });
  }

  /**
   * @param images `[B, Hi, Wi, C]`
   * @returns `[B, N, D]`
   */
  apply(images: tf.Tensor): tf.Tensor3D {
    return op(
      'PatchEmbedding.apply',
      () => {
        checkShape(images, ['B', 'Hi', 'Wi', this.channels], 'images');
        checkDtype(images, 'float32', 'images');
        checkPatchSize(dimOf(images, 1), dimOf(images, 2), this.patchSize);
      },
      () => this.proj.apply(patchify(images, this.patchSize)) as tf.Tensor3D, // [B, N, D]
    );
  }

  /** The weight as a convolution filter `[P, P, C, D]` (for `tf.conv2d(images, filter, P, 'valid')`). */
  asConvFilter(): tf.Tensor4D {
    const p = this.patchSize;
    return tf.tidy(
      () => this.proj.weight.reshape([p, p, this.channels, this.dModel]) as tf.Tensor4D,
    );
  }
}

/** Configuration of `ConvStem`. */
export interface ConvStemConfig {
  /** Input channels `C`. Defaults to 1. */
  inChannels?: number;
  /** Output channels (feature maps) `F`. */
  outChannels: number;
  /** Odd kernel side `k`. Defaults to 3. */
  kernelSize?: number;
  /**
   * Stride `s` of the convolution. Defaults to 1 (the maps keep the image size); with 2 the maps
   * are `ceil(Hi / 2) x ceil(Wi / 2)` ('same' padding, as in TensorFlow).
   */
  stride?: number;
  /** Seed of the initial filter. Defaults to 0. */
  seed?: number;
}

/**
 * A small convolutional stem for a *hybrid* ViT (Dosovitskiy et al., 2021, section 3.1, "Hybrid
 * Architecture"): one `k x k` convolution with zero padding ('same'), a bias and a ReLU,
 * `[B, Hi, Wi, C] -> [B, Ho, Wo, F]`; with stride 1 (the default) the maps keep the image size, with
 * stride 2 they halve (a layer of `ViTConfig.convStem`). The patches are then cut from
 * these `F` feature maps instead of the raw pixels, so each token starts from local stroke
 * detectors (edges, line ends) shared over the image instead of raw grey levels: the
 * convolution's built-in assumption that a pattern means the same wherever it appears.
 */
export class ConvStem extends Module {
  /** `[k, k, C, F]` */
  readonly filter: tf.Variable;
  /** `[F]` */
  readonly bias: tf.Variable;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;

  constructor(config: ConvStemConfig) {
    super();
    if (config === null || typeof config !== 'object') {
      throw new TypeError(`config: expected an object { outChannels, ... }, got ${String(config)}`);
    }
    this.inChannels = checkInt(config.inChannels ?? 1, 'inChannels');
    this.outChannels = checkInt(config.outChannels, 'outChannels');
    this.kernelSize = checkInt(config.kernelSize ?? 3, 'kernelSize');
    this.stride = checkInt(config.stride ?? 1, 'stride');
    if (this.kernelSize % 2 !== 1) {
      throw new RangeError(`kernelSize: expected an odd number, got ${this.kernelSize}`);
    }
    const k = this.kernelSize;
    const fanIn = k * k * this.inChannels;
    // He-style variance 2 / fanIn (uniform with a = sqrt(6 / fanIn)), since a ReLU follows.
    this.filter = parameter(
      tf.tidy(() =>
        tf.mul(
          lecunUniform([k, k, this.inChannels, this.outChannels], fanIn, config.seed ?? 0),
          Math.SQRT2,
        ),
      ),
    );
    this.bias = parameter(tf.zeros([this.outChannels]));
  }

  /**
   * @param images `[B, Hi, Wi, C]` float32
   * @returns feature maps `[B, Ho, Wo, F]`, `relu(conv(images) + bias)`, `Ho = ceil(Hi / stride)`
   */
  apply(images: tf.Tensor): tf.Tensor4D {
    return op(
      'ConvStem.apply',
      () => {
        checkShape(images, ['B', 'Hi', 'Wi', this.inChannels], 'images');
        checkDtype(images, 'float32', 'images');
      },
      () => {
        const s = this.stride;
        const maps = tf.conv2d(images as tf.Tensor4D, this.filter as tf.Tensor4D, s, 'same'); // [B, Ho, Wo, F]
        return tf.relu(tf.add(maps, this.bias)) as tf.Tensor4D;
      },
    );
  }
}

/** Side of the maps the patches are cut from: the image side, halved (rounded up) per strided stem layer. */
function mapSize(c: { imageSize: number; convStem: readonly number[] }): number {
  let side = c.imageSize;
  for (let i = 0; i < c.convStem.length; i++) side = Math.ceil(side / 2);
  return side;
}

function checkConvStem(convStem: unknown): readonly number[] {
  if (!Array.isArray(convStem)) {
    throw new TypeError(
      `convStem: expected an array of feature-map counts such as [16, 32, 64], got ${String(convStem)}`,
    );
  }
  convStem.forEach((maps, i) => checkInt(maps, `convStem[${i}]`));
  return [...(convStem as number[])];
}

/** Configuration of `ViTBlock`. */
export interface ViTBlockConfig {
  dModel: number;
  numHeads: number;
  /** Hidden width of the feed-forward part, `Dff`. */
  dHidden: number;
  /** Dropout rate on the residual branches and inside the feed-forward part. Defaults to 0. */
  dropout?: number;
  seed?: number;
}

/**
 * A pre-norm Transformer encoder block with a GELU: `x + MHA(LN(x))`, then `x + FFN(LN(x))`.
 * It is chapter 06's `EncoderBlock` with the ViT's settings (`norm: 'pre'`, `activation:
 * 'gelu'`), so the ViT shares its code and every speed-up of it. `apply(x)` returns the new `x`
 * `[B, T, D]` and the attention weights `[B, H, T, T]`.
 */
export class ViTBlock extends EncoderBlock {
  constructor(config: ViTBlockConfig) {
    if (config === null || typeof config !== 'object') {
      throw new TypeError(
        `config: expected an object { dModel, numHeads, dHidden, ... }, got ${String(config)}`,
      );
    }
    super({
      dModel: config.dModel,
      numHeads: config.numHeads,
      dHidden: config.dHidden,
      dropout: config.dropout ?? 0,
      norm: 'pre',
      activation: 'gelu',
      seed: config.seed ?? 0,
    });
  }
}

/** Configuration of `VisionTransformer`; every field but `numClasses` has a default. */
export interface ViTConfig {
  /** Image side in pixels (square images). Defaults to 28 (MNIST). */
  imageSize?: number;
  /** Patch side `P`; must divide `imageSize`. Defaults to 7 (a 4 x 4 grid of 16 patches). */
  patchSize?: number;
  /** Image channels `C`. Defaults to 1. */
  channels?: number;
  /** Number of classes. */
  numClasses: number;
  /** Model width `D`. Defaults to 64. */
  dModel?: number;
  /** Heads `H`; must divide `dModel`. Defaults to 4. */
  numHeads?: number;
  /** Encoder blocks. Defaults to 2. */
  numLayers?: number;
  /** Hidden width of each block's feed-forward part. Defaults to `2 * dModel`. */
  dHidden?: number;
  /** Dropout of every block (residual branches and feed-forward part). Defaults to 0. */
  dropout?: number;
  /**
   * Feature maps of a 3 x 3 convolutional stem (`ConvStem`) in front of the patch embedding, which
   * makes the model a *hybrid* ViT; 0 (the default) is the plain ViT, patches of raw pixels.
   */
  stemChannels?: number;
  /**
   * Feature maps of each layer of a *strided* convolutional stem (Xiao et al., 2021, "Early
   * convolutions help transformers see better"): one 3 x 3 convolution with stride 2 and a ReLU per
   * entry, so each layer halves the maps (rounded up: 28 -> 14 -> 7 -> 4), and `patchSize` then
   * cuts the last maps (`[16, 32, 64]` with `patchSize: 1` gives a 4 x 4 grid of 16 tokens, as
   * 7 x 7 patches of the raw image do). Defaults to `[]` (no strided stem); not together with
   * `stemChannels`.
   */
  convStem?: readonly number[];
  /**
   * What the head reads: `'class'` (the default, the paper's) the class token's final vector,
   * `'mean'` the average of the patch tokens' final vectors (global average pooling; the class
   * token is still there, so the attention maps keep their row for it).
   */
  pool?: 'class' | 'mean';
  /** Seed of the initial weights. Defaults to 0. */
  seed?: number;
}

/** What `VisionTransformer.forward` returns. */
export interface ViTOutput {
  /** Class scores `[B, K]` (`K` = `numClasses`). */
  logits: tf.Tensor2D;
  /** Attention weights of every block, in order, each `[B, H, N+1, N+1]` (token 0 = class token). */
  attention: tf.Tensor4D[];
}

/**
 * The Vision Transformer; see the module comment. With `stemChannels > 0` it is the hybrid
 * variant: the patches are cut from the feature maps of a small `ConvStem`.
 */
export class VisionTransformer extends Module {
  /** The hybrid's convolutional stem (`stemChannels`), `null` in the plain ViT. */
  readonly stem: ConvStem | null;
  /** The strided convolutional stem (`convStem`), one `ConvStem` per layer; empty if none. */
  readonly convStem: ConvStem[];
  readonly patchEmbed: PatchEmbedding;
  readonly classToken: tf.Variable;
  readonly positions: tf.Variable;
  readonly blocks: ViTBlock[];
  readonly norm: LayerNorm;
  readonly head: Linear;
  /** The configuration with every default filled in. */
  readonly config: Required<ViTConfig>;

  constructor(config: ViTConfig) {
    super();
    if (config === null || typeof config !== 'object') {
      throw new TypeError(`config: expected an object { numClasses, ... }, got ${String(config)}`);
    }
    const dModel = checkInt(config.dModel ?? 64, 'dModel');
    const c: Required<ViTConfig> = {
      imageSize: checkInt(config.imageSize ?? 28, 'imageSize'),
      patchSize: checkInt(config.patchSize ?? 7, 'patchSize'),
      channels: checkInt(config.channels ?? 1, 'channels'),
      numClasses: checkInt(config.numClasses, 'numClasses', 2),
      dModel,
      numHeads: checkInt(config.numHeads ?? 4, 'numHeads'),
      numLayers: checkInt(config.numLayers ?? 2, 'numLayers'),
      dHidden: checkInt(config.dHidden ?? 2 * dModel, 'dHidden'),
      dropout: config.dropout ?? 0,
      stemChannels: checkInt(config.stemChannels ?? 0, 'stemChannels', 0),
      convStem: checkConvStem(config.convStem ?? []),
      pool: config.pool ?? 'class',
      seed: checkInt(config.seed ?? 0, 'seed', 0, 2 ** 32 - 1),
    };
    if (c.pool !== 'class' && c.pool !== 'mean') {
      throw new RangeError(`pool: expected 'class' or 'mean', got ${String(c.pool)}`);
    }
    if (c.stemChannels > 0 && c.convStem.length > 0) {
      throw new RangeError(
        `convStem: expected [] when stemChannels > 0 (one stem or the other), got [${c.convStem.join(', ')}]`,
      );
    }
    checkPatchSize(mapSize(c), mapSize(c), c.patchSize);
    if (c.dModel % c.numHeads !== 0) {
      throw new RangeError(
        `numHeads: expected a divisor of dModel = ${c.dModel}, got ${c.numHeads}`,
      );
    }
    this.config = c;
    const n = this.numPatches;
    this.stem =
      c.stemChannels > 0
        ? new ConvStem({
            inChannels: c.channels,
            outChannels: c.stemChannels,
            seed: deriveSeed(c.seed, 'stem'),
          })
        : null;
    this.convStem = c.convStem.map(
      (maps, i) =>
        new ConvStem({
          inChannels: i === 0 ? c.channels : c.convStem[i - 1],
          outChannels: maps,
          stride: 2,
          seed: deriveSeed(c.seed, `convStem ${i}`),
        }),
    );
    const lastMaps = c.convStem.length > 0 ? c.convStem[c.convStem.length - 1] : 0;
    this.patchEmbed = new PatchEmbedding({
      patchSize: c.patchSize,
      channels: c.stemChannels > 0 ? c.stemChannels : lastMaps > 0 ? lastMaps : c.channels,
      dModel,
      seed: deriveSeed(c.seed, 'patchEmbed'),
    });
    this.classToken = parameter(normalInit([1, 1, dModel], 0.02, deriveSeed(c.seed, 'cls')));
    this.positions = parameter(normalInit([1, n + 1, dModel], 0.02, deriveSeed(c.seed, 'pos')));
    this.blocks = Array.from(
      { length: c.numLayers },
      (_, i) =>
        new ViTBlock({
          dModel,
          numHeads: c.numHeads,
          dHidden: c.dHidden,
          dropout: c.dropout,
          seed: deriveSeed(c.seed, `block ${i}`),
        }),
    );
    this.norm = new LayerNorm({ dModel });
    this.head = new Linear({
      inFeatures: dModel,
      outFeatures: c.numClasses,
      seed: deriveSeed(c.seed, 'head'),
    });
  }

  private checkImages(images: tf.Tensor): void {
    const { imageSize, channels } = this.config;
    checkShape(images, ['B', imageSize, imageSize, channels], 'images');
    checkDtype(images, 'float32', 'images');
  }

  /** Number of patches `N` per image. */
  get numPatches(): number {
    return (mapSize(this.config) / this.config.patchSize) ** 2;
  }

  /** The images (or, with a stem, its feature maps) the patches are cut from: `[B, Hi', Wi', C']`. */
  private stemMaps(images: tf.Tensor): tf.Tensor4D {
    if (this.stem) return this.stem.apply(images); // [B, Hi, Wi, C] -> [B, Hi, Wi, F]
    let maps = images as tf.Tensor4D;
    for (const layer of this.convStem) maps = layer.apply(maps); // [B, Hi, Wi, C] -> [B, Ho, Wo, F]
    return maps;
  }

  /**
   * @param images `[B, Hi, Wi, C]` float32, `Hi = Wi = imageSize`
   * @returns class scores `[B, K]` and every block's attention weights `[B, H, N+1, N+1]`
   */
  forward(images: tf.Tensor): ViTOutput {
    return op(
      'VisionTransformer.forward',
      () => this.checkImages(images),
      () => {
        // [B, Hi, Wi, C] (plain) or [B, Ho, Wo, F] (hybrids) -> [B, N, D]
        const tokens = this.patchEmbed.apply(this.stemMaps(images));
        let x = addClassToken(tokens, this.classToken, this.positions); // [B, N+1, D]
        const attention: tf.Tensor4D[] = [];
        for (const block of this.blocks) {
          const { output, weights } = block.apply(x);
          x = output;
          attention.push(weights);
        }
        const [b, , d] = x.shape;
        const pooled =
          this.config.pool === 'mean'
            ? x.slice([0, 1, 0], [b, -1, d]).mean(1) // [B, N+1, D] -> [B, N, D] -> [B, D]
            : x.slice([0, 0, 0], [b, 1, d]).reshape([b, d]); // [B, N+1, D] -> [B, D]
        const logits = this.head.apply(this.norm.apply(pooled)) as tf.Tensor2D; // [B, K]
        return { logits, attention };
      },
    );
  }

  /** Class scores only: `forward(images).logits`, `[B, K]`. */
  apply(images: tf.Tensor): tf.Tensor2D {
    return op(
      'VisionTransformer.apply',
      () => this.checkImages(images),
      () => {
        const { logits, attention } = this.forward(images);
        tf.dispose(attention);
        return logits;
      },
    );
  }
}
