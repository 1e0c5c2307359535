/**
 * The twin of torchvision's `AnchorGenerator` (models/detection/anchor_utils.py): zero-centred cell anchors per
 * level, shifted to every feature-map cell. Anchors depend only on the padded batch size and the feature sizes, so
 * a caller can compute them once per padded size and reuse them for every frame.
 *
 * Two torchvision details decide every RPN box downstream and are kept exactly:
 * - the stride of a level is `floor(Hp / fh)` of the *padded* size, which for the 'pool' level is not always 64
 *   (800 / 13 = 61);
 * - an anchor is centred on the cell's top-left sample position, with no half-stride offset.
 *
 * Values are computed in float32 like torch (`Math.fround` after every step); cell anchors are integers after
 * torch's round-half-to-even, so the grid anchors are exact.
 */

/** `[height, width]` in pixels or feature cells. */
export type Size2D = readonly [number, number];

export interface AnchorConfig {
  /** Per level, the anchor sizes (the square root of the anchor area) in input pixels. */
  sizes: readonly (readonly number[])[];
  /** Per level, the aspect ratios, as height / width. */
  aspectRatios: readonly (readonly number[])[];
}

/** `maskrcnn_resnet50_fpn`'s generator: one size per FPN level '0'..'pool', three ratios each. */
export const ANCHOR_DEFAULTS: Readonly<AnchorConfig> = Object.freeze({
  sizes: Object.freeze([[32], [64], [128], [256], [512]].map((s) => Object.freeze(s))),
  aspectRatios: Object.freeze(Array.from({ length: 5 }, () => Object.freeze([0.5, 1.0, 2.0]))),
});

/** torch.round: halves go to the even neighbour (2.5 → 2, −3.5 → −4), unlike Math.round. */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * `AnchorGenerator.generate_anchors`: `[A, 4]` zero-centred anchors, ratio-major then size-minor (the order the RPN
 * head's A channels use). A ratio r gives height·√r and width/√r, so the area stays size².
 */
export function cellAnchors(sizes: readonly number[], aspectRatios: readonly number[]): Float32Array {
  const anchors = new Float32Array(sizes.length * aspectRatios.length * 4);
  let offset = 0;
  for (const ratio of aspectRatios) {
    const hRatio = Math.fround(Math.sqrt(Math.fround(ratio)));
    const wRatio = Math.fround(1 / hRatio);
    for (const size of sizes) {
      const ws = Math.fround(wRatio * Math.fround(size));
      const hs = Math.fround(hRatio * Math.fround(size));
      // Halving is exact in float32; the rounding is torch's `.round()` on the halves.
      anchors[offset++] = roundHalfToEven(-ws / 2);
      anchors[offset++] = roundHalfToEven(-hs / 2);
      anchors[offset++] = roundHalfToEven(ws / 2);
      anchors[offset++] = roundHalfToEven(hs / 2);
    }
  }
  return anchors;
}

/**
 * `AnchorGenerator.forward`'s strides: integer division of the padded batch size by each feature size, per axis.
 * Returned as `[strideY, strideX]` per level.
 */
export function anchorStrides(featureSizes: readonly Size2D[], paddedSize: Size2D): [number, number][] {
  return featureSizes.map(([fh, fw]) => {
    if (!(fh > 0 && fw > 0)) throw new Error(`anchorStrides: feature size ${fh}x${fw} is empty`);
    return [Math.floor(paddedSize[0] / fh), Math.floor(paddedSize[1] / fw)];
  });
}

/**
 * `AnchorGenerator.grid_anchors` for one level: `[fh·fw·A, 4]` anchors ordered row y, column x, anchor a (index
 * `(y·fw + x)·A + a`), which is the order the RPN head's NHWC outputs flatten to.
 */
export function levelAnchors(featureSize: Size2D, stride: readonly [number, number], cell: Float32Array): Float32Array {
  const [fh, fw] = featureSize;
  const [strideY, strideX] = stride;
  const a = cell.length / 4;
  const anchors = new Float32Array(fh * fw * a * 4);
  let offset = 0;
  for (let y = 0; y < fh; y++) {
    const shiftY = y * strideY;
    for (let x = 0; x < fw; x++) {
      const shiftX = x * strideX;
      for (let i = 0; i < a; i++) {
        anchors[offset++] = shiftX + cell[i * 4];
        anchors[offset++] = shiftY + cell[i * 4 + 1];
        anchors[offset++] = shiftX + cell[i * 4 + 2];
        anchors[offset++] = shiftY + cell[i * 4 + 3];
      }
    }
  }
  return anchors;
}

/**
 * All anchors of one image, per level (torchvision concatenates these; the RPN needs the level boundaries anyway
 * for its per-level top-k). `featureSizes` are the `[h, w]` of the feature maps in level order, `paddedSize` the
 * batch tensor's `[Hp, Wp]`.
 */
export function gridAnchors(
  featureSizes: readonly Size2D[],
  paddedSize: Size2D,
  config: Readonly<AnchorConfig> = ANCHOR_DEFAULTS,
): Float32Array[] {
  if (featureSizes.length !== config.sizes.length || config.sizes.length !== config.aspectRatios.length) {
    throw new Error(
      `gridAnchors: ${featureSizes.length} feature maps, ${config.sizes.length} size tuples and ` +
        `${config.aspectRatios.length} ratio tuples; there must be one of each per level`,
    );
  }
  const strides = anchorStrides(featureSizes, paddedSize);
  return featureSizes.map((size, level) =>
    levelAnchors(size, strides[level], cellAnchors(config.sizes[level], config.aspectRatios[level])),
  );
}

/** `AnchorGenerator.forward` for one image: every level's anchors concatenated, `[ΣfhfwA, 4]` flat. */
export function generateAnchors(
  featureSizes: readonly Size2D[],
  paddedSize: Size2D,
  config: Readonly<AnchorConfig> = ANCHOR_DEFAULTS,
): Float32Array {
  const levels = gridAnchors(featureSizes, paddedSize, config);
  const all = new Float32Array(levels.reduce((sum, level) => sum + level.length, 0));
  let offset = 0;
  for (const level of levels) {
    all.set(level, offset);
    offset += level.length;
  }
  return all;
}

/** `AnchorGenerator.num_anchors_per_location`: A per level, the channel count the RPN head is built with. */
export function anchorsPerLocation(config: Readonly<AnchorConfig> = ANCHOR_DEFAULTS): number[] {
  return config.sizes.map((sizes, level) => sizes.length * (config.aspectRatios[level]?.length ?? 0));
}
