/**
 * The twin of `../fpn.ts` (FeaturePyramidNetwork with LastLevelMaxPool) in the ONNX graph: lateral 1x1 convs,
 * nearest 2x upsampling of the coarser sum, 3x3 output convs, and the 'pool' level subsampled from the top one.
 */
import type { OnnxGraph } from './graph';
import { type ConvOutput, biasedConv } from './misc';
import type { Parameters } from './parameters';

const PREFIX = 'backbone.fpn';

/** C2..C5 to the levels '0'..'3' and 'pool', finest first. */
export function featurePyramid(graph: OnnxGraph, params: Parameters, stages: readonly ConvOutput[], channels: number): string[] {
  const results: string[] = new Array<string>(stages.length);
  let topDown: string | undefined;
  for (let level = stages.length - 1; level >= 0; level--) {
    const stage = stages[level] as ConvOutput;
    const lateral = biasedConv(graph, params, stage.value, `${PREFIX}.inner_blocks.${level}.0`, 1, stage.channels, channels).value;
    if (topDown === undefined) {
      topDown = lateral;
    } else {
      // PyTorch's legacy 'nearest' to the lateral's size takes source index floor(dst * in / out): ONNX's
      // 'asymmetric' mapping with 'floor' rounding. For padded inputs it is an exact 2x.
      const size = graph.node('Shape', [lateral], {}, `${PREFIX}.size.${level}`);
      const upsampled = graph.node(
        'Resize',
        [topDown, '', '', size],
        { mode: { string: 'nearest' }, coordinate_transformation_mode: { string: 'asymmetric' }, nearest_mode: { string: 'floor' } },
        `${PREFIX}.upsample.${level}`,
      );
      topDown = graph.node('Add', [lateral, upsampled], {}, `${PREFIX}.sum.${level}`);
    }
    results[level] = biasedConv(graph, params, topDown, `${PREFIX}.layer_blocks.${level}.0`, 3, channels, channels).value;
  }
  // LastLevelMaxPool: max_pool2d(kernel 1, stride 2), i.e. every other row and column, ceil(H/2) x ceil(W/2).
  const top = results[results.length - 1] as string;
  const pool = graph.node('MaxPool', [top], { kernel_shape: { ints: [1, 1] }, strides: { ints: [2, 2] } }, `${PREFIX}.pool`);
  return [...results, pool];
}
