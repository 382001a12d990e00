/**
 * Exercise 07.1: images as sequences of patches (chapter 07, "the Vision Transformer").
 *
 * A ViT reads an image as a sequence: it cuts the image into non-overlapping P x P patches and
 * flattens each one into a vector. Write `patchify` and its inverse `unpatchify`.
 *
 * Requirements:
 * - `patchify(images [B, Hi, Wi, C], P)` returns `[B, N, P*P*C]` with `N = (Hi / P) * (Wi / P)`;
 *   the patches are numbered row by row over the grid (patch n sits at grid row floor(n / Gw),
 *   column n % Gw, with Gw = Wi / P), and each patch is flattened in (row, column, channel) order;
 * - `unpatchify(patches, P, Hi, Wi)` puts them back: `unpatchify(patchify(x, P), P, Hi, Wi)` is x;
 * - no tensor is left behind besides the result.
 * Tips: one reshape is not enough. Reshape `[B, Hi, Wi, C]` to `[B, Gh, P, Gw, P, C]`, move the
 * two grid axes next to each other with `.transpose([0, 1, 3, 2, 4, 5])`, then reshape to
 * `[B, Gh * Gw, P * P * C]`. The inverse runs the same steps backwards.
 *
 * @param images `[B, Hi, Wi, C]`, `Hi` and `Wi` multiples of `patchSize`
 * @param patchSize `P`
 * @returns `[B, N, P*P*C]`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function patchify(images: tf.Tensor4D, patchSize: number): tf.Tensor3D {
  void [images, patchSize, tf];
  return notImplemented('patchify', 'exercises/07-vision-transformer/patchify.ts');
}

/**
 * The inverse of `patchify`.
 * @param patches `[B, N, P*P*C]` with `N = (height / P) * (width / P)`
 * @returns `[B, height, width, C]`
 */
export function unpatchify(
  patches: tf.Tensor3D,
  patchSize: number,
  height: number,
  width: number,
): tf.Tensor4D {
  void [patches, patchSize, height, width];
  return notImplemented('unpatchify', 'exercises/07-vision-transformer/patchify.ts');
}
