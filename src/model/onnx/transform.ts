/**
 * The twin of `../transform.ts` (GeneralizedRCNNTransform) inside the ONNX graph: 8-bit RGB(A) in, normalized,
 * bilinear-resized and zero-padded NCHW out. The sizes are computed on the host by `resizedSize`, bit for bit as
 * torchvision computes them, and fed in, so the graph only does the arithmetic per pixel.
 */
import type { TransformConfig } from '../transform';
import type { OnnxGraph } from './graph';

export interface TransformInputs {
  /** `[H, W, 3 or 4]` uint8, row-major as frames come; a fourth (alpha) channel is ignored. */
  image: string;
  /** int64 `[1, 3, h, w]`: the resized size. */
  resizedSize: string;
  /** int64 `[8]`: ONNX Pad's `[0, 0, 0, 0, 0, 0, Hp - h, Wp - w]`, padding bottom and right only. */
  pads: string;
}

export function declareTransformInputs(graph: OnnxGraph): TransformInputs {
  return {
    image: graph.input('image', 'uint8', ['height', 'width', 'channels']),
    resizedSize: graph.input('resized_size', 'int64', [4]),
    pads: graph.input('pads', 'int64', [8]),
  };
}

/**
 * Normalize, then resize (torchvision's order, so the padding is zero in normalized space). Division by 255, the
 * subtraction and the division are three float32 steps, as in `convert_image_dtype` and `normalize`. Resize is
 * linear with half-pixel centres, `align_corners=False`'s mapping; out-of-range source positions clamp to the edge
 * as in PyTorch's `upsample_bilinear2d`.
 */
export function transformImage(graph: OnnxGraph, inputs: TransformInputs, config: TransformConfig): string {
  const rgb = graph.node('Slice', [inputs.image, graph.int64([0]), graph.int64([3]), graph.int64([2])], {}, 'transform.rgb');
  const unit = graph.node('Div', [graph.node('Cast', [rgb], { to: { int: 1 } }, 'transform.float'), graph.float('transform.255', [255])], {}, 'transform.unit');
  const centred = graph.node('Sub', [unit, graph.float('transform.image_mean', [...config.imageMean])], {}, 'transform.centred');
  const normalized = graph.node('Div', [centred, graph.float('transform.image_std', [...config.imageStd])], {}, 'transform.normalized');
  const nchw = graph.node('Unsqueeze', [graph.node('Transpose', [normalized], { perm: { ints: [2, 0, 1] } }, 'transform.chw'), graph.int64([0])], {}, 'transform.nchw');
  const resized = graph.node(
    'Resize',
    [nchw, '', '', inputs.resizedSize],
    { mode: { string: 'linear' }, coordinate_transformation_mode: { string: 'half_pixel' } },
    'transform.resized',
  );
  return graph.node('Pad', [resized, inputs.pads], { mode: { string: 'constant' } }, 'transform.batch');
}
