import * as tf from '@tensorflow/tfjs';

export function patchify(images: tf.Tensor4D, patchSize: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, hi, wi, c] = images.shape;
    const p = patchSize;
    const [gh, gw] = [hi / p, wi / p];
    return images
      .reshape([b, gh, p, gw, p, c]) // [B, Hi, Wi, C] -> [B, Gh, P, Gw, P, C]
      .transpose([0, 1, 3, 2, 4, 5]) // -> [B, Gh, Gw, P, P, C]
      .reshape([b, gh * gw, p * p * c]) as tf.Tensor3D; // -> [B, N, P*P*C]
  });
}

export function unpatchify(
  patches: tf.Tensor3D,
  patchSize: number,
  height: number,
  width: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, , ppc] = patches.shape;
    const p = patchSize;
    const c = ppc / (p * p);
    const [gh, gw] = [height / p, width / p];
    return patches
      .reshape([b, gh, gw, p, p, c]) // [B, N, P*P*C] -> [B, Gh, Gw, P, P, C]
      .transpose([0, 1, 3, 2, 4, 5]) // -> [B, Gh, P, Gw, P, C]
      .reshape([b, height, width, c]) as tf.Tensor4D; // -> [B, Hi, Wi, C]
  });
}
