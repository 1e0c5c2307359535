/**
 * The ResNet body of torchvision's detection backbone (`models/resnet.py` as used by `backbone_utils.py`), in NHWC.
 *
 * The architecture is read off the checkpoint rather than configured: which keys exist says the block type and how
 * many blocks each stage has, and the tensors' shapes say the widths. So ResNet-18/34/50/101 and narrowed test
 * networks all load through the same code, and a checkpoint that does not match fails here, by key name, instead of
 * producing wrong features. Frozen batch norm is folded into the convolutions once, at construction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors';

/**
 * Fetches a tensor by its torchvision state-dict name, in PyTorch layout; `undefined` when the checkpoint has no such
 * key (absence is how the architecture is discovered). The tensors stay the caller's: models copy what they keep.
 */
export type WeightLookup = (name: string) => tf.Tensor | undefined;

/** Prepends a module path to a key the way PyTorch does, so an empty prefix gives bare names. */
export function joinKey(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/**
 * A tensor the model cannot do without. A checkpoint is the user's file, so what is wrong with it is a UserError, and
 * the message names the key so a wrong or truncated checkpoint is obvious.
 */
export function requireWeight(lookup: WeightLookup, key: string, shape?: readonly (number | undefined)[]): tf.Tensor {
  const tensor = lookup(key);
  if (tensor === undefined) throw new UserError(`checkpoint has no '${key}'`);
  if (tensor.dtype !== 'float32') {
    throw new UserError(`checkpoint tensor '${key}' is ${tensor.dtype}, expected float32`);
  }
  if (shape !== undefined) {
    const matches =
      tensor.shape.length === shape.length &&
      shape.every((size, axis) => size === undefined || tensor.shape[axis] === size);
    if (!matches) {
      const expected = shape.map((size) => (size === undefined ? '*' : String(size))).join(', ');
      throw new UserError(`checkpoint tensor '${key}' has shape [${tensor.shape.join(', ')}], expected [${expected}]`);
    }
  }
  return tensor;
}

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
function padSpatial(x: tf.Tensor4D, padding: number): tf.Tensor4D {
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

/** Settings that the checkpoint cannot tell. */
export interface ResNetBodyOptions {
  /**
   * Added to the running variance in every frozen batch norm. 1e-5 (the default) for a model as torchvision builds
   * it; 0 for the COCO v1 Mask R-CNN weights, which torchvision loads with `overwrite_eps(model, 0.0)`.
   */
  eps?: number;
  /** Where the body sits in the state dict; '' for a bare classification ResNet. */
  prefix?: string;
}

export type BlockType = 'basic' | 'bottleneck';

/** What the checkpoint turned out to hold. */
export interface ResNetArchitecture {
  /** BasicBlock (ResNet-18/34) or Bottleneck (ResNet-50/101/152). */
  block: BlockType;
  /** Blocks in layer1..layer4. */
  blocks: [number, number, number, number];
  /**
   * Weight layers as in the model's name (convs plus the classifier torchvision drops): 18 for basic [2, 2, 2, 2],
   * 50 for bottleneck [3, 4, 6, 3].
   */
  depth: number;
  /** Channels of the stem's output. */
  stemChannels: number;
  /** Channels of C2..C5 (the outputs of layer1..layer4), the FPN's `in_channels_list`. */
  outChannels: [number, number, number, number];
}

interface Block {
  convs: Conv[];
  downsample: Conv | undefined;
}

/**
 * Loads one conv followed by its FrozenBatchNorm2d / eval-mode BatchNorm2d, folded into weights and bias:
 * `scale = gamma * rsqrt(var + eps)`, `W' = W * scale[out]`, `b' = beta - mean * scale`. torchvision's body convs
 * have no bias of their own.
 */
function loadConvBn(
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

function outChannelsOf(conv: Conv): number {
  return conv.filter.shape[3];
}

interface LoadedBody {
  block: BlockType;
  stem: Conv;
  stages: Block[][];
}

/**
 * Reads the stem and layer1..layer4 out of the checkpoint. Only block 0 of layer2..4 strides, and (v1.5) on the 3x3
 * conv, which is conv2 in both block types.
 */
function loadBody(lookup: WeightLookup, eps: number, prefix: string): LoadedBody {
  const key = (name: string): string => joinKey(prefix, name);
  // Everything converted so far, so that a checkpoint failing half-way leaks nothing.
  const loaded: Conv[] = [];
  const load = (conv: string, bn: string, stride: number, inChannels: number, kernel: number): Conv => {
    const made = loadConvBn(lookup, key(conv), key(bn), eps, stride, inChannels, kernel);
    loaded.push(made);
    return made;
  };
  try {
    const stem = load('conv1', 'bn1', 2, 3, 7);
    // Bottleneck opens with a 1x1 conv, BasicBlock with a 3x3 one; the first block decides for the whole network.
    // Going by the shape rather than by whether conv3 exists makes a Bottleneck checkpoint that lacks a conv3 fail
    // by naming that key.
    const first = requireWeight(lookup, key('layer1.0.conv1.weight'));
    const block: BlockType = first.shape[2] === 1 ? 'bottleneck' : 'basic';
    const stages: Block[][] = [];
    let channels = outChannelsOf(stem);
    for (let stage = 1; stage <= 4; stage += 1) {
      const blocks: Block[] = [];
      // Block 0 is required (its absence is reported by name); later ones exist as far as the checkpoint goes.
      for (let index = 0; index === 0 || lookup(key(`layer${stage}.${index}.conv1.weight`)) !== undefined; index += 1) {
        const name = `layer${stage}.${index}`;
        const stride = index === 0 && stage > 1 ? 2 : 1;
        const convs: Conv[] = [];
        if (block === 'basic') {
          convs.push(load(`${name}.conv1`, `${name}.bn1`, stride, channels, 3));
          convs.push(load(`${name}.conv2`, `${name}.bn2`, 1, outChannelsOf(convs[0] as Conv), 3));
        } else {
          convs.push(load(`${name}.conv1`, `${name}.bn1`, 1, channels, 1));
          // The in-channel check here also rejects grouped convs (ResNeXt), which TF.js's conv2d cannot run.
          convs.push(load(`${name}.conv2`, `${name}.bn2`, stride, outChannelsOf(convs[0] as Conv), 3));
          convs.push(load(`${name}.conv3`, `${name}.bn3`, 1, outChannelsOf(convs[1] as Conv), 1));
        }
        const out = outChannelsOf(convs[convs.length - 1] as Conv);
        const downsampleKey = key(`${name}.downsample.0.weight`);
        let downsample: Conv | undefined;
        if (lookup(downsampleKey) !== undefined) {
          downsample = load(`${name}.downsample.0`, `${name}.downsample.1`, stride, channels, 1);
          if (outChannelsOf(downsample) !== out) {
            throw new UserError(
              `checkpoint tensor '${downsampleKey}' has ${outChannelsOf(downsample)} output channels, ` +
                `but the block's last conv has ${out}`,
            );
          }
        } else if (stride !== 1 || channels !== out) {
          // An identity shortcut cannot change the shape; torchvision always makes a projection here.
          throw new UserError(`checkpoint has no '${downsampleKey}'`);
        }
        blocks.push({ convs, downsample });
        channels = out;
      }
      stages.push(blocks);
    }
    return { block, stem, stages };
  } catch (error) {
    loaded.forEach(disposeConv);
    throw error;
  }
}

/**
 * ResNet stem and layer1..layer4 with frozen batch norm, returning C2..C5 as torchvision's IntermediateLayerGetter
 * does for `return_layers={'layer1': '0', ..., 'layer4': '3'}`. Owns its converted weights: call `dispose()`.
 */
export class ResNetBody {
  readonly architecture: ResNetArchitecture;
  private readonly stem: Conv;
  private readonly stages: Block[][];
  private disposed = false;

  constructor(lookup: WeightLookup, options: ResNetBodyOptions = {}) {
    const { block, stem, stages } = loadBody(lookup, options.eps ?? 1e-5, options.prefix ?? 'backbone.body');
    this.stem = stem;
    this.stages = stages;
    const blocks = stages.map((stage) => stage.length) as ResNetArchitecture['blocks'];
    this.architecture = {
      block,
      blocks,
      depth: (block === 'basic' ? 2 : 3) * blocks.reduce((sum, count) => sum + count, 0) + 2,
      stemChannels: outChannelsOf(stem),
      outChannels: stages.map((stage) => {
        const last = stage[stage.length - 1] as Block;
        return outChannelsOf(last.convs[last.convs.length - 1] as Conv);
      }) as ResNetArchitecture['outChannels'],
    };
  }

  /**
   * `[N, H, W, 3]` normalized images to `[C2, C3, C4, C5]` at strides 4, 8, 16, 32. The caller owns the outputs; the
   * input is not disposed. Intermediates are freed block by block, which keeps the peak at a few activations instead
   * of the whole network's (gigabytes at 800x1088).
   */
  forward(images: tf.Tensor4D): tf.Tensor4D[] {
    if (this.disposed) throw new Error('ResNetBody: used after dispose()');
    if (images.rank !== 4 || images.shape[3] !== 3) {
      throw new Error(`ResNetBody: expected [N, H, W, 3] images, got [${images.shape.join(', ')}]`);
    }
    const outputs: tf.Tensor4D[] = [];
    // PyTorch pads the 3x3/2 max-pool with -inf, symmetrically; zeros are equivalent because its input comes out of
    // a ReLU, and tfjs-node has no symmetric pooling pad of its own.
    let x = tf.tidy(() => tf.maxPool(padSpatial(runConv(images, this.stem, true), 1), 3, 2, 'valid'));
    try {
      for (const stage of this.stages) {
        for (const block of stage) {
          const next = tf.tidy(() => runBlock(x, block));
          // A stage's output is returned, so it must outlive the next stage's first block.
          if (!outputs.includes(x)) x.dispose();
          x = next;
        }
        outputs.push(x);
      }
    } catch (error) {
      if (!outputs.includes(x)) x.dispose();
      outputs.forEach((output) => output.dispose());
      throw error;
    }
    return outputs;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeConv(this.stem);
    for (const stage of this.stages) {
      for (const { convs, downsample } of stage) {
        convs.forEach(disposeConv);
        if (downsample !== undefined) disposeConv(downsample);
      }
    }
  }
}

/** Both block types: convs with ReLU between, the last without; add the shortcut; ReLU. */
function runBlock(x: tf.Tensor4D, block: Block): tf.Tensor4D {
  let y = x;
  block.convs.forEach((conv, index) => {
    y = runConv(y, conv, index < block.convs.length - 1);
  });
  const shortcut = block.downsample === undefined ? x : runConv(x, block.downsample, false);
  return tf.relu(tf.add<tf.Tensor4D>(y, shortcut));
}
