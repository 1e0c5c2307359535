/**
 * The twin of `ops/misc.ts` for the ONNX graph: the biased convs of the FPN, RPN head and mask head, the body's conv
 * followed by FrozenBatchNorm2d (folded into the conv when the graph is written, with the same float32 steps as the
 * TF.js loader), and the linear layers of the box head. Activations are NCHW, as in PyTorch.
 */
import type { OnnxGraph } from './graph';
import type { Parameters } from './parameters';

/** A conv's output channels, known when the graph is written (the next layer's shape check needs them). */
export interface ConvOutput {
  value: string;
  channels: number;
}

function conv(graph: OnnxGraph, x: string, key: string, weight: string, bias: string, kernel: number, stride: number, channels: number): ConvOutput {
  const pad = (kernel - 1) / 2;
  const value = graph.node(
    'Conv',
    [x, weight, bias],
    { kernel_shape: { ints: [kernel, kernel] }, strides: { ints: [stride, stride] }, pads: { ints: [pad, pad, pad, pad] } },
    key,
  );
  return { value, channels };
}

/** `${key}.weight` `[out, in, k, k]` and `${key}.bias`, stride 1, PyTorch's `padding=(k - 1) / 2`. */
export function biasedConv(graph: OnnxGraph, params: Parameters, x: string, key: string, kernel: number, inChannels?: number, outChannels?: number): ConvOutput {
  const weight = params.require(`${key}.weight`, [outChannels, inChannels, kernel, kernel]);
  const out = weight.shape[0] as number;
  const bias = params.require(`${key}.bias`, [out]);
  return conv(graph, x, key, graph.initializer(`${key}.weight`, weight.shape, weight.data), graph.initializer(`${key}.bias`, [out], bias.data), kernel, 1, out);
}

/**
 * A body conv and its frozen batch norm as one conv: `scale = gamma * rsqrt(var + eps)`, `W' = W * scale[out]`,
 * `b' = beta - mean * scale`, each step rounded to float32 as the TF.js loader's tensor ops round it.
 */
export function convBn(
  graph: OnnxGraph,
  params: Parameters,
  x: string,
  convKey: string,
  bnKey: string,
  eps: number,
  stride: number,
  inChannels: number,
  kernel: number,
): ConvOutput {
  const f32 = Math.fround;
  const weight = params.require(`${convKey}.weight`, [undefined, inChannels, kernel, kernel]);
  const out = weight.shape[0] as number;
  const bn = (name: string): Float32Array => params.require(`${bnKey}.${name}`, [out]).data;
  const [gamma, beta, mean, variance] = [bn('weight'), bn('bias'), bn('running_mean'), bn('running_var')];
  const scale = Float32Array.from(gamma, (g, o) => f32(g * f32(1 / f32(Math.sqrt(f32((variance[o] as number) + f32(eps)))))));
  const perFilter = weight.data.length / out;
  const folded = Float32Array.from(weight.data, (w, i) => f32(w * (scale[Math.floor(i / perFilter)] as number)));
  const bias = Float32Array.from(beta, (b, o) => f32(b - f32((mean[o] as number) * (scale[o] as number))));
  return conv(graph, x, convKey, graph.initializer(`${convKey}.weight`, weight.shape, folded), graph.initializer(`${convKey}.bias`, [out], bias), kernel, stride, out);
}

/** `nn.Linear` on `[N, in]`: `x · Wᵀ + b` as one Gemm, with PyTorch's `[out, in]` weight used as it is. */
export function linear(graph: OnnxGraph, params: Parameters, x: string, key: string, inFeatures?: number): ConvOutput {
  const weight = params.require(`${key}.weight`, [undefined, inFeatures]);
  const out = weight.shape[0] as number;
  const bias = params.require(`${key}.bias`, [out]);
  const value = graph.node(
    'Gemm',
    [x, graph.initializer(`${key}.weight`, weight.shape, weight.data), graph.initializer(`${key}.bias`, [out], bias.data)],
    { transB: { int: 1 } },
    key,
  );
  return { value, channels: out };
}

export function relu(graph: OnnxGraph, x: string): string {
  return graph.node('Relu', [x], {}, `${x}.relu`);
}
