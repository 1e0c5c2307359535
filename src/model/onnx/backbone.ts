/**
 * The twin of `../backbone.ts` (torchvision's ResNet body with frozen batch norm) in the ONNX graph. The blocks are
 * those the model directory's architecture records, which `loadModelDirectory` has checked against the tensors; each
 * conv's shape is checked again as it is written.
 */
import type { MaskRcnnArchitecture } from '../architecture';
import type { OnnxGraph } from './graph';
import { type ConvOutput, convBn, relu } from './misc';
import type { Parameters } from './parameters';

const PREFIX = 'backbone.body';

/** `[1, 3, Hp, Wp]` to C2..C5 (the outputs of layer1..layer4), at strides 4, 8, 16, 32. */
export function resnetBody(graph: OnnxGraph, params: Parameters, images: string, backbone: MaskRcnnArchitecture['backbone'], eps: number): ConvOutput[] {
  const load = (x: string, name: string, bn: string, stride: number, inChannels: number, kernel: number): ConvOutput =>
    convBn(graph, params, x, `${PREFIX}.${name}`, `${PREFIX}.${bn}`, eps, stride, inChannels, kernel);
  const stem = load(images, 'conv1', 'bn1', 2, 3, 7);
  // PyTorch's 3x3/2 max-pool pads with -inf, as ONNX MaxPool's pads do.
  let x: ConvOutput = {
    value: graph.node('MaxPool', [relu(graph, stem.value)], { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } }, `${PREFIX}.maxpool`),
    channels: stem.channels,
  };
  const outputs: ConvOutput[] = [];
  backbone.blocks.forEach((count, stageIndex) => {
    for (let index = 0; index < count; index++) {
      const name = `layer${stageIndex + 1}.${index}`;
      // v1.5: only block 0 of layer2..4 strides, on the 3x3 conv (conv2 in Bottleneck, conv1 in BasicBlock).
      const stride = index === 0 && stageIndex > 0 ? 2 : 1;
      let y: ConvOutput;
      if (backbone.block === 'basic') {
        y = load(x.value, `${name}.conv1`, `${name}.bn1`, stride, x.channels, 3);
        y = load(relu(graph, y.value), `${name}.conv2`, `${name}.bn2`, 1, y.channels, 3);
      } else {
        y = load(x.value, `${name}.conv1`, `${name}.bn1`, 1, x.channels, 1);
        y = load(relu(graph, y.value), `${name}.conv2`, `${name}.bn2`, stride, y.channels, 3);
        y = load(relu(graph, y.value), `${name}.conv3`, `${name}.bn3`, 1, y.channels, 1);
      }
      const shortcut = params.has(`${PREFIX}.${name}.downsample.0.weight`)
        ? load(x.value, `${name}.downsample.0`, `${name}.downsample.1`, stride, x.channels, 1).value
        : x.value;
      x = { value: relu(graph, graph.node('Add', [y.value, shortcut], {}, `${PREFIX}.${name}.add`)), channels: y.channels };
    }
    outputs.push(x);
  });
  return outputs;
}
