/**
 * The three graphs of the ONNX engine, written from a model directory's config and tensors. `GRAPH_VERSION` names
 * what the writer produces: bump it whenever a graph changes, so that graphs cached by an older version are not
 * used.
 */
import { ANCHOR_DEFAULTS, anchorsPerLocation } from '../ops/anchors';
import type { ModelConfig } from '../model-dir';
import { ROI_HEADS_DEFAULTS } from '../roi-heads';
import { RPN_DEFAULTS } from '../rpn';
import type { RawTensor } from '../weights/tensor';
import { resnetBody } from './backbone';
import { featurePyramid } from './fpn';
import { OnnxGraph } from './graph';
import { Parameters } from './parameters';
import { boxHeadGraph, maskHeadGraph, POOLED_LEVELS } from './roi-heads';
import { rpnCandidates } from './rpn';
import { declareTransformInputs, transformImage } from './transform';

export const GRAPH_VERSION = 1;
/** FPN levels '0'..'3' and 'pool'. */
export const FEATURE_LEVELS = 5;

export interface WrittenGraphs {
  features: Uint8Array;
  boxes: Uint8Array;
  masks: Uint8Array;
}

/**
 * Inputs: image, resized_size, pads (transform.ts). Outputs: `features.0..3` (what the heads pool from),
 * `feature_sizes` (int64 `[5, 2]`, every level's `[h, w]`, which the anchors need), and per level `rpn.logits.L`,
 * `rpn.indices.L`, `rpn.deltas.L` (rpn.ts).
 */
export function featuresGraph(params: Parameters, config: ModelConfig): OnnxGraph {
  const graph = new OnnxGraph('dashseg.features');
  const { architecture } = config;
  const channels = architecture.fpnChannels;
  const batch = transformImage(graph, declareTransformInputs(graph), config.transform);
  const stages = resnetBody(graph, params, batch, architecture.backbone, config.frozenBatchNormEps);
  const levels = featurePyramid(graph, params, stages, channels);
  const perLocation = anchorsPerLocation(config.anchors ?? ANCHOR_DEFAULTS);
  if (perLocation.some((count) => count !== architecture.rpn.anchorsPerLocation)) {
    throw new Error(`anchors give [${perLocation.join(', ')}] per location, the RPN head predicts ${architecture.rpn.anchorsPerLocation}`);
  }
  const candidates = rpnCandidates(graph, params, levels, channels, architecture.rpn.convLayers, architecture.rpn.anchorsPerLocation, RPN_DEFAULTS.preNmsTopN);
  levels.slice(0, POOLED_LEVELS).forEach((level, index) => graph.output(level, `features.${index}`, 'float', [1, channels, `height${index}`, `width${index}`]));
  const sizes = levels.map((level, index) =>
    graph.node('Slice', [graph.node('Shape', [level], {}, `size.${index}`), graph.int64([2]), graph.int64([4])], {}, `size_hw.${index}`),
  );
  graph.output(graph.node('Reshape', [graph.node('Concat', sizes, { axis: { int: 0 } }, 'sizes'), graph.int64([FEATURE_LEVELS, 2])], {}, 'sizes_2d'), 'feature_sizes', 'int64', [FEATURE_LEVELS, 2]);
  candidates.forEach((level, index) => {
    graph.output(level.logits, `rpn.logits.${index}`, 'float', [`k${index}`]);
    graph.output(level.indices, `rpn.indices.${index}`, 'int64', [`k${index}`]);
    graph.output(level.deltas, `rpn.deltas.${index}`, 'float', [`k${index}`, 4]);
  });
  return graph;
}

export function writeGraphs(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>, producerVersion: string): WrittenGraphs {
  const params = new Parameters(tensors);
  return {
    features: featuresGraph(params, config).serialize(producerVersion),
    boxes: boxHeadGraph(params, config.architecture, ROI_HEADS_DEFAULTS).serialize(producerVersion),
    masks: maskHeadGraph(params, config.architecture, ROI_HEADS_DEFAULTS).serialize(producerVersion),
  };
}
