/**
 * The twin of `../rpn.ts`'s RPNHead in the ONNX graph, with the per-level top-k of `filter_proposals`: the graph
 * returns, per FPN level, the best `preNmsTopN` objectness logits, their anchor indices and their box deltas. What
 * follows (decoding against the anchors, sigmoid, clipping, NMS) is a few thousand boxes and runs on the host in the
 * shared `filterProposals`, as it does for TF.js.
 */
import type { OnnxGraph } from './graph';
import { biasedConv, relu } from './misc';
import type { Parameters } from './parameters';

export interface LevelCandidates {
  /** float `[k]`: objectness logits, best first. */
  logits: string;
  /** int64 `[k]`: indices into the level's anchors, `(y·w + x)·A + a`. */
  indices: string;
  /** float `[k, 4]`: the deltas of those anchors. */
  deltas: string;
}

/**
 * RPNHead on every level (its convs shared between levels, as in PyTorch), then the top `preNmsTopN` anchors of
 * each level by logit. `anchorsPerLocation` is A, the head's objectness channels.
 */
export function rpnCandidates(
  graph: OnnxGraph,
  params: Parameters,
  levels: readonly string[],
  channels: number,
  convLayers: number,
  anchorsPerLocation: number,
  preNmsTopN: number,
): LevelCandidates[] {
  return levels.map((feature, level) => {
    let x = feature;
    for (let i = 0; i < convLayers; i++) x = relu(graph, biasedConv(graph, params, x, `rpn.head.conv.${i}.0`, 3, channels, channels).value);
    const objectness = biasedConv(graph, params, x, 'rpn.head.cls_logits', 1, channels, anchorsPerLocation).value;
    const deltas = biasedConv(graph, params, x, 'rpn.head.bbox_pred', 1, channels, 4 * anchorsPerLocation).value;
    const name = `rpn.level${level}`;
    // [1, A, h, w] → (y, x, a), torchvision's permute_and_flatten order.
    const flatLogits = graph.node('Reshape', [graph.node('Transpose', [objectness], { perm: { ints: [0, 2, 3, 1] } }, `${name}.logits_nhwc`), graph.int64([-1])], {}, `${name}.logits`);
    // [1, 4A, h, w] → [1, A, 4, h·w] → [1, h·w, A, 4] → [h·w·A, 4].
    const byAnchor = graph.node('Reshape', [deltas, graph.int64([1, anchorsPerLocation, 4, -1])], {}, `${name}.deltas_a4`);
    const flatDeltas = graph.node('Reshape', [graph.node('Transpose', [byAnchor], { perm: { ints: [0, 3, 1, 2] } }, `${name}.deltas_nhwc`), graph.int64([-1, 4])], {}, `${name}.deltas`);
    const count = graph.node('Reshape', [graph.node('Size', [flatLogits], {}, `${name}.count`), graph.int64([1])], {}, `${name}.count_1d`);
    const k = graph.node('Min', [count, graph.int64([preNmsTopN])], {}, `${name}.k`);
    const [logits, indices] = graph.nodeWithOutputs('TopK', [flatLogits, k], 2, { axis: { int: 0 }, largest: { int: 1 }, sorted: { int: 1 } }, `${name}.top`) as [string, string];
    return { logits, indices, deltas: graph.node('Gather', [flatDeltas, indices], { axis: { int: 0 } }, `${name}.top_deltas`) };
  });
}
