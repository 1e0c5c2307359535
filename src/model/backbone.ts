/**
 * The ResNet body of torchvision's detection backbone (`models/resnet.py` as used by `backbone_utils.py`), in NHWC.
 *
 * The architecture is read off the checkpoint rather than configured: which keys exist says the block type and how
 * many blocks each stage has, and the tensors' shapes say the widths. So ResNet-18/34/50/101 and narrowed test
 * networks all load through the same code, and a checkpoint that does not match fails here, by key name, instead of
 * producing wrong features. Frozen batch norm is folded into the convolutions once, at construction (ops/misc.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors';
import { type Conv, disposeConv, loadConvBn, padSpatial, runConv } from './ops/misc';
import { type WeightLookup, joinKey, requireWeight } from './state-dict';

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
