/**
 * The twin of torchvision's `ops/misc.py`: the conv building blocks every stage shares, in NHWC. A PyTorch
 * `nn.Conv2d` with its symmetric padding, the biased convs of the FPN, RPN head and mask head, and a conv followed by
 * `FrozenBatchNorm2d`, folded into one conv at load time.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type WeightLookup, requireWeight } from '../state-dict';

/** A convolution ready for `tf.fused.conv2d`: HWIO filter, bias, and PyTorch's stride and (symmetric) padding. */
export interface Conv {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  stride: number;
  /** Pixels of zero padding on every side, as in PyTorch's `padding=`. */
  padding: number;
}

/**
 * Runs a convolution with PyTorch's padding. TF.js's 'same' pads stride-2 convolutions asymmetrically (nothing
 * before, everything after on even inputs), which would shift every feature by half a stride, so strided convs get
 * an explicit symmetric `tf.pad` and 'valid'. A numeric `pad` would do the same on cpu and wasm, but tfjs-node's
 * kernels accept only 'valid' and 'same'. At stride 1 with an odd kernel, 'same' is already symmetric.
 */
export function runConv(x: tf.Tensor4D, conv: Conv, relu: boolean): tf.Tensor4D {
  const { padding, stride } = conv;
  const strided = padding > 0 && stride > 1;
  return tf.fused.conv2d({
    x: strided ? padSpatial(x, padding) : x,
    filter: conv.filter,
    bias: conv.bias,
    strides: stride,
    pad: padding === 0 || strided ? 'valid' : 'same',
    activation: relu ? 'relu' : 'linear',
  });
}

/** Zeros around height and width, the same amount on every side. */
export function padSpatial(x: tf.Tensor4D, padding: number): tf.Tensor4D {
  return tf.pad(x, [
    [0, 0],
    [padding, padding],
    [padding, padding],
    [0, 0],
  ]);
}

export function disposeConv(conv: Conv): void {
  conv.filter.dispose();
  conv.bias.dispose();
}

/** PyTorch `[out, in, kh, kw]` to TF.js `[kh, kw, in, out]`. */
export function toHwio(weight: tf.Tensor): tf.Tensor4D {
  return tf.transpose(weight as tf.Tensor4D, [2, 3, 1, 0]);
}

/**
 * A stride-1 conv with its own bias (FPN, RPN head, mask head): `${key}.weight` `[out, in, k, k]` and `${key}.bias`,
 * padded to keep the size as PyTorch's `padding=(k - 1) / 2` does.
 */
export function loadBiasedConv(
  lookup: WeightLookup,
  key: string,
  kernel: number,
  inChannels?: number,
  outChannels?: number,
): Conv {
  const weight = requireWeight(lookup, `${key}.weight`, [outChannels, inChannels, kernel, kernel]);
  const bias = requireWeight(lookup, `${key}.bias`, [weight.shape[0]]);
  return tf.tidy(() => ({
    filter: toHwio(weight),
    bias: tf.clone(bias) as tf.Tensor1D,
    stride: 1,
    padding: (kernel - 1) / 2,
  }));
}

/**
 * Loads one conv followed by its FrozenBatchNorm2d / eval-mode BatchNorm2d, folded into weights and bias:
 * `scale = gamma * rsqrt(var + eps)`, `W' = W * scale[out]`, `b' = beta - mean * scale`. torchvision's body convs
 * have no bias of their own.
 */
export function loadConvBn(
  lookup: WeightLookup,
  convKey: string,
  bnKey: string,
  eps: number,
  stride: number,
  inChannels: number,
  kernel: number,
): Conv {
  const weight = requireWeight(lookup, `${convKey}.weight`, [undefined, inChannels, kernel, kernel]);
  const outChannels = weight.shape[0];
  const bn = (name: string): tf.Tensor => requireWeight(lookup, `${bnKey}.${name}`, [outChannels]);
  const gamma = bn('weight');
  const beta = bn('bias');
  const mean = bn('running_mean');
  const variance = bn('running_var');
  return tf.tidy(() => {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
    const filter = toHwio(tf.mul(weight, tf.reshape(scale, [outChannels, 1, 1, 1])));
    const bias = tf.sub(beta, tf.mul(mean, scale)) as tf.Tensor1D;
    return { filter, bias, stride, padding: (kernel - 1) / 2 };
  });
}
