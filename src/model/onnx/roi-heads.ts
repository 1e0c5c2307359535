/**
 * The twin of `../roi-heads.ts` in two ONNX graphs, one per branch, because the mask branch only runs on the boxes
 * the box branch's postprocessing (on the host) keeps:
 * - box head: MultiScaleRoIAlign(7) → TwoMLPHead → FastRCNNPredictor → softmax, giving class scores and box deltas;
 * - mask head: MultiScaleRoIAlign(14) → MaskRCNNHeads → MaskRCNNPredictor, then each detection's own class, sigmoid.
 * Pooled features are NCHW here, so fc6 takes PyTorch's channel-major flattening and its weight as it is.
 */
import type { MaskRcnnArchitecture } from '../architecture';
import type { RoiHeadsConfig } from '../roi-heads';
import { OnnxGraph } from './graph';
import { biasedConv, linear, relu } from './misc';
import type { Parameters } from './parameters';
import { declarePoolingInputs, multiScaleRoiAlign } from './poolers';

/** Mask R-CNN's poolers read '0'..'3', never 'pool'. */
export const POOLED_LEVELS = 4;
const SAMPLING_RATIO = 2;

/** Inputs: features.0..3, rois, level_bounds, pads. Outputs: `class_scores` `[K, C]`, `box_deltas` `[K, 4C]`. */
export function boxHeadGraph(params: Parameters, architecture: MaskRcnnArchitecture, config: Readonly<RoiHeadsConfig>): OnnxGraph {
  const graph = new OnnxGraph('dashseg.box_head');
  const channels = architecture.fpnChannels;
  const pooled = multiScaleRoiAlign(graph, declarePoolingInputs(graph, POOLED_LEVELS, channels), config.boxPoolSize, SAMPLING_RATIO, 'roi_heads.box_roi_pool');
  const flat = graph.node('Flatten', [pooled], { axis: { int: 1 } }, 'roi_heads.box_head.flatten');
  const fc6 = linear(graph, params, flat, 'roi_heads.box_head.fc6', channels * config.boxPoolSize * config.boxPoolSize);
  const fc7 = linear(graph, params, relu(graph, fc6.value), 'roi_heads.box_head.fc7', fc6.channels);
  const hidden = relu(graph, fc7.value);
  const logits = linear(graph, params, hidden, 'roi_heads.box_predictor.cls_score', fc7.channels);
  const deltas = linear(graph, params, hidden, 'roi_heads.box_predictor.bbox_pred', fc7.channels);
  const classes = logits.channels;
  graph.output(graph.node('Softmax', [logits.value], { axis: { int: -1 } }, 'roi_heads.softmax'), 'class_scores', 'float', ['rois', classes]);
  graph.output(deltas.value, 'box_deltas', 'float', ['rois', 4 * classes]);
  return graph;
}

/**
 * Inputs: features.0..3, rois, level_bounds, pads, and `rows` (int64 `[D]`: `j·C + label` for the j-th pooled
 * detection). Output: `masks` `[D, M, M]`, each detection's probabilities for its own class.
 */
export function maskHeadGraph(params: Parameters, architecture: MaskRcnnArchitecture, config: Readonly<RoiHeadsConfig>): OnnxGraph {
  const graph = new OnnxGraph('dashseg.mask_head');
  const channels = architecture.fpnChannels;
  const inputs = declarePoolingInputs(graph, POOLED_LEVELS, channels);
  const rows = graph.input('rows', 'int64', ['detections']);
  let x = multiScaleRoiAlign(graph, inputs, config.maskPoolSize, SAMPLING_RATIO, 'roi_heads.mask_roi_pool');
  let width = channels;
  architecture.maskHead.layerChannels.forEach((out, i) => {
    const conv = biasedConv(graph, params, x, `roi_heads.mask_head.${i}.0`, 3, width, out);
    x = relu(graph, conv.value);
    width = conv.channels;
  });
  const upsampleWeight = params.require('roi_heads.mask_predictor.conv5_mask.weight', [width, undefined, 2, 2]);
  const upsampleChannels = upsampleWeight.shape[1] as number;
  const upsampleBias = params.require('roi_heads.mask_predictor.conv5_mask.bias', [upsampleChannels]);
  const upsampled = graph.node(
    'ConvTranspose',
    [
      x,
      graph.initializer('roi_heads.mask_predictor.conv5_mask.weight', upsampleWeight.shape, upsampleWeight.data),
      graph.initializer('roi_heads.mask_predictor.conv5_mask.bias', [upsampleChannels], upsampleBias.data),
    ],
    { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } },
    'roi_heads.mask_predictor.conv5_mask',
  );
  const logits = biasedConv(graph, params, relu(graph, upsampled), 'roi_heads.mask_predictor.mask_fcn_logits', 1, upsampleChannels, architecture.numClasses);
  const size = 2 * config.maskPoolSize;
  const byClass = graph.node('Reshape', [logits.value, graph.int64([-1, size, size])], {}, 'roi_heads.mask_by_class');
  const own = graph.node('Gather', [byClass, rows], { axis: { int: 0 } }, 'roi_heads.mask_own_class');
  graph.output(graph.node('Sigmoid', [own], {}, 'roi_heads.mask_probabilities'), 'masks', 'float', ['detections', size, size]);
  return graph;
}
