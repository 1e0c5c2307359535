/**
 * The twin of torchvision's `models/detection/transform.py` (GeneralizedRCNNTransform), in NHWC: normalize, resize,
 * batch with zero padding, and map boxes back to the original image. Sizes and scales are reproduced bit for bit
 * because they decide the padded size, and so every anchor and every box downstream.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface TransformConfig {
  /** Per-channel RGB mean, applied to [0, 1] values. */
  imageMean: readonly [number, number, number];
  imageStd: readonly [number, number, number];
  /** Target length of the short side (torchvision's eval uses the last entry of its `min_size` tuple). */
  minSize: number;
  /** Cap on the long side; wins over `minSize` for elongated images. */
  maxSize: number;
  /** The padded batch's height and width are multiples of this (the backbone's largest stride). */
  sizeDivisible: number;
}

/** The values `maskrcnn_resnet50_fpn` (v1 and v2) passes to GeneralizedRCNNTransform. */
export const MASKRCNN_TRANSFORM: Readonly<TransformConfig> = Object.freeze({
  imageMean: [0.485, 0.456, 0.406] as const,
  imageStd: [0.229, 0.224, 0.225] as const,
  minSize: 800,
  maxSize: 1333,
  sizeDivisible: 32,
});

/** `[height, width]` in pixels. */
export type ImageSize = [number, number];

export interface TransformedImages {
  /** `[N, Hp, Wp, 3]` float32, normalized; each image in the top-left corner, zeros (the mean colour) elsewhere. */
  batch: tf.Tensor4D;
  /** Per image, the size after resizing and before padding: what boxes are clipped to. */
  imageSizes: ImageSize[];
  /** Per image, the size it came in with: what `postprocessBoxes` maps back to. */
  originalSizes: ImageSize[];
}

/**
 * The resize factor torchvision computes for an `height`×`width` image. `self_min_size / min_size` divides a Python
 * float by a float32 tensor, which torch evaluates as `reciprocal(t) * 800` with a float32 rounding after each step;
 * that double rounding is why many short sides come out at 799 instead of 800.
 */
export function resizeScale(height: number, width: number, minSize: number, maxSize: number): number {
  const shortSide = Math.fround(Math.min(height, width));
  const longSide = Math.fround(Math.max(height, width));
  const byShort = Math.fround(Math.fround(1 / shortSide) * Math.fround(minSize));
  const byLong = Math.fround(Math.fround(1 / longSide) * Math.fround(maxSize));
  return Math.min(byShort, byLong);
}

/**
 * The size torchvision resizes to: `interpolate(recompute_scale_factor=True)` floors `size * scale` in Python,
 * i.e. in double precision with the float32 scale widened exactly, which is what JS arithmetic does here too.
 */
export function resizedSize(height: number, width: number, minSize: number, maxSize: number): ImageSize {
  const scale = resizeScale(height, width, minSize, maxSize);
  return [Math.floor(height * scale), Math.floor(width * scale)];
}

/** Smallest multiple of `divisor` that holds `size`: the padded batch's side. */
export function roundUp(size: number, divisor: number): number {
  return Math.ceil(size / divisor) * divisor;
}

function checkImage(image: tf.Tensor, index: number): void {
  if (image.rank !== 3 || image.shape[2] !== 3) {
    throw new Error(`image ${index}: expected an RGB tensor [height, width, 3], got shape [${image.shape.join(', ')}]`);
  }
  if (image.dtype !== 'int32' && image.dtype !== 'float32') {
    throw new Error(`image ${index}: expected int32 (0-255) or float32 (0-1) values, got ${image.dtype}`);
  }
  if (image.shape[0] === 0 || image.shape[1] === 0) {
    throw new Error(`image ${index}: empty image [${image.shape.join(', ')}]`);
  }
}

/**
 * Scale to [0, 1] and normalize. TF.js has no uint8 dtype, so 8-bit pixels arrive as int32; they are divided by 255
 * in float32 as torchvision's `convert_image_dtype` does, and only then normalized, with no rounding in between.
 */
export function normalizeImage(image: tf.Tensor3D, config: TransformConfig): tf.Tensor3D {
  return tf.tidy(() => {
    const unit = image.dtype === 'int32' ? tf.div<tf.Tensor3D>(tf.cast(image, 'float32'), 255) : image;
    // Subtract, then divide, each rounded to float32: the same two steps as torchvision's normalize.
    return tf.div<tf.Tensor3D>(tf.sub(unit, tf.tensor1d([...config.imageMean])), tf.tensor1d([...config.imageStd]));
  });
}

/**
 * Bilinear resize of a normalized image to `resizedSize`. Half-pixel centres with no antialiasing is PyTorch's
 * `align_corners=False`; TF.js's default (no half-pixel centres) shifts the image by half a pixel.
 */
export function resizeImage(image: tf.Tensor3D, config: TransformConfig): tf.Tensor3D {
  const [height, width] = resizedSize(image.shape[0], image.shape[1], config.minSize, config.maxSize);
  return tf.image.resizeBilinear(image, [height, width], false, true);
}

/**
 * Stack images into one zero-padded batch whose height and width are multiples of `sizeDivisible`. Padding goes
 * bottom and right only, so pixel coordinates stay those of the resized image.
 */
export function batchImages(images: readonly tf.Tensor3D[], sizeDivisible: number): tf.Tensor4D {
  if (images.length === 0) throw new Error('batchImages: no images');
  const height = roundUp(Math.max(...images.map((image) => image.shape[0])), sizeDivisible);
  const width = roundUp(Math.max(...images.map((image) => image.shape[1])), sizeDivisible);
  return tf.tidy(() =>
    tf.stack<tf.Tensor3D>(
      images.map((image) =>
        tf.pad(image, [
          [0, height - image.shape[0]],
          [0, width - image.shape[1]],
          [0, 0],
        ]),
      ),
    ),
  ) as tf.Tensor4D;
}

/**
 * GeneralizedRCNNTransform.forward at inference: each image is normalized, then resized (in that order, as in
 * torchvision, so the padding is zero in normalized space), then all are batched. The inputs are not disposed.
 */
export function transformImages(images: readonly tf.Tensor3D[], config: TransformConfig): TransformedImages {
  images.forEach(checkImage);
  const originalSizes = images.map((image): ImageSize => [image.shape[0], image.shape[1]]);
  const imageSizes = images.map((image) => resizedSize(image.shape[0], image.shape[1], config.minSize, config.maxSize));
  const batch = tf.tidy(() =>
    batchImages(
      images.map((image) => resizeImage(normalizeImage(image, config), config)),
      config.sizeDivisible,
    ),
  );
  return { batch, imageSizes, originalSizes };
}

/**
 * Per-axis factors from resized to original coordinates, `[height, width]`: float32 quotients of the two integer
 * sizes, as torchvision's `resize_boxes` computes them (not 1/scale, and not equal on both axes).
 */
export function boxRatios(imageSize: Readonly<ImageSize>, originalSize: Readonly<ImageSize>): [number, number] {
  return [Math.fround(originalSize[0] / imageSize[0]), Math.fround(originalSize[1] / imageSize[1])];
}

/**
 * Map boxes `[K·4]` (x1, y1, x2, y2, flat) from the resized image to the original one, as GeneralizedRCNNTransform's
 * postprocess does: each coordinate times its axis's float32 ratio, in float32. No clipping: boxes were clipped in
 * resized space. Boxes are on the host by then (after NMS), so this works on arrays, not tensors.
 */
export function postprocessBoxes(boxes: Float32Array, imageSize: Readonly<ImageSize>, originalSize: Readonly<ImageSize>): Float32Array {
  if (boxes.length % 4 !== 0) throw new Error(`postprocessBoxes: expected boxes [K, 4], got ${boxes.length} numbers`);
  const [ratioHeight, ratioWidth] = boxRatios(imageSize, originalSize);
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i++) {
    out[i] = Math.fround((boxes[i] as number) * (i % 2 === 0 ? ratioWidth : ratioHeight));
  }
  return out;
}
