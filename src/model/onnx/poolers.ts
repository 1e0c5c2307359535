/**
 * The twin of `../ops/poolers.ts` (MultiScaleRoIAlign) split between host and graph. The host assigns each RoI its
 * FPN level with the shared `mapLevels` (float32 at every step, as torchvision computes it), orders the RoIs by level
 * and scales each to its level's coordinates; the graph pools each level's run with ONNX RoiAlign and concatenates.
 *
 * Pre-scaling on the host leaves the graph's `spatial_scale` at 1, so one graph serves any scales `_infer_scale`
 * may find; the product is exact, the scales being powers of two. RoiAlign runs with
 * `coordinate_transformation_mode = output_half_pixel`: Mask R-CNN's RoIAlign is the unaligned one (opset 16's
 * default, half_pixel, is `aligned=True` and moves every box by half a pixel).
 */
import { type MultiScaleRoiAlignConfig, MULTI_SCALE_ROI_ALIGN_DEFAULTS, inferScale, mapLevels } from '../ops/poolers';
import type { OnnxGraph } from './graph';

/** RoIs as the pooling graph takes them, and how to put its results back in the caller's order. */
export interface PoolingInput {
  /** `[K·4]` boxes in their level's feature coordinates, grouped by level (finest first), then in input order. */
  rois: Float32Array;
  /** int64 `[L + 1]`: where each level's run starts, and the end of the last. */
  levelBounds: BigInt64Array;
  /** int64 `[8]`: Pad's pads adding the RoIs no level takes (negative-area boxes) as zeros at the end. */
  pads: BigInt64Array;
  /** `order[j]`: the input index of the j-th pooled RoI. */
  order: Int32Array;
}

/**
 * Levels, ordering and scaling for `boxes` `[K·4]` in resized-image coordinates. `featureHeights` are the pooled
 * levels' heights and `imageHeight` the resized image's, which is what torchvision infers the scales from.
 */
export function preparePooling(
  boxes: Float32Array,
  featureHeights: readonly number[],
  imageHeight: number,
  config: Pick<MultiScaleRoiAlignConfig, 'canonicalScale' | 'canonicalLevel' | 'eps'> = MULTI_SCALE_ROI_ALIGN_DEFAULTS,
): PoolingInput {
  const count = boxes.length / 4;
  const scales = featureHeights.map((height) => inferScale(height, imageHeight));
  const kMin = Math.trunc(-Math.log2(scales[0] as number));
  const kMax = Math.trunc(-Math.log2(scales[scales.length - 1] as number));
  const levels = scales.length > 1 ? mapLevels(boxes, kMin, kMax, config) : new Int32Array(count);
  const order: number[] = [];
  const levelBounds = new BigInt64Array(scales.length + 1);
  for (let level = 0; level < scales.length; level++) {
    for (let r = 0; r < count; r++) if (levels[r] === level) order.push(r);
    levelBounds[level + 1] = BigInt(order.length);
  }
  const pooled = order.length;
  for (let r = 0; r < count; r++) if (levels[r] === -1) order.push(r);
  const rois = new Float32Array(count * 4);
  order.forEach((r, j) => {
    const scale = j < pooled ? (scales[levels[r] as number] as number) : 0;
    for (let c = 0; c < 4; c++) rois[4 * j + c] = Math.fround((boxes[4 * r + c] as number) * scale);
  });
  const pads = new BigInt64Array(8);
  pads[4] = BigInt(count - pooled);
  return { rois, levelBounds, pads, order: Int32Array.from(order) };
}

export interface PoolingInputs {
  features: string[];
  rois: string;
  levelBounds: string;
  pads: string;
}

export function declarePoolingInputs(graph: OnnxGraph, levels: number, channels: number): PoolingInputs {
  return {
    features: Array.from({ length: levels }, (_, level) => graph.input(`features.${level}`, 'float', [1, channels, `height${level}`, `width${level}`])),
    rois: graph.input('rois', 'float', ['rois', 4]),
    levelBounds: graph.input('level_bounds', 'int64', [levels + 1]),
    pads: graph.input('pads', 'int64', [8]),
  };
}

/** `[K, C, size, size]` pooled features, in the order `preparePooling` put the RoIs. */
export function multiScaleRoiAlign(graph: OnnxGraph, inputs: PoolingInputs, size: number, samplingRatio: number, name: string): string {
  const pooled = inputs.features.map((feature, level) => {
    const bound = (at: number): string => graph.node('Slice', [inputs.levelBounds, graph.int64([at]), graph.int64([at + 1])], {}, `${name}.bound${at}`);
    const rois = graph.node('Slice', [inputs.rois, bound(level), bound(level + 1), graph.int64([0])], {}, `${name}.rois${level}`);
    const count = graph.node('Slice', [graph.node('Shape', [rois], {}, `${name}.shape${level}`), graph.int64([0]), graph.int64([1])], {}, `${name}.count${level}`);
    const batchIndices = graph.node('Expand', [graph.int64([0]), count], {}, `${name}.batch${level}`);
    return graph.node(
      'RoiAlign',
      [feature, rois, batchIndices],
      {
        mode: { string: 'avg' },
        output_height: { int: size },
        output_width: { int: size },
        sampling_ratio: { int: samplingRatio },
        spatial_scale: { float: 1 },
        coordinate_transformation_mode: { string: 'output_half_pixel' },
      },
      `${name}.level${level}`,
    );
  });
  const joined = graph.node('Concat', pooled, { axis: { int: 0 } }, `${name}.pooled`);
  return graph.node('Pad', [joined, inputs.pads], { mode: { string: 'constant' } }, `${name}.all`);
}

/** Rows of a `[K, ...]` result in pooled order back to the RoIs' own order. */
export function unpermuteRows(values: Float32Array, order: Int32Array, rowLength: number): Float32Array {
  const out = new Float32Array(values.length);
  order.forEach((r, j) => out.set(values.subarray(j * rowLength, (j + 1) * rowLength), r * rowLength));
  return out;
}
