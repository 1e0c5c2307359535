import { UserError } from '../errors';

/**
 * The shape of a torchvision-layout Mask R-CNN, as far as inference needs it, read off a state dict's tensor names
 * and shapes. Nothing is assumed from a model name: reduced widths, other depths and other class counts work.
 */
export interface MaskRcnnArchitecture {
  /** v1: frozen BN body, biased FPN/heads, TwoMLPHead. v2: BatchNorm in FPN and heads, conv box head. */
  variant: 'v1' | 'v2';
  backbone: {
    block: 'basic' | 'bottleneck';
    /** Residual blocks in layer1..layer4. */
    blocks: [number, number, number, number];
    /** Output channels of the stem convolution. */
    stemChannels: number;
    /** Output channels of layer1..layer4 (C2..C5): what the FPN reads. */
    stageChannels: [number, number, number, number];
    /** The torchvision depth these blocks make (18, 34, 50, 101, 152), when they make one. */
    depth?: number;
  };
  fpnChannels: number;
  rpn: { convLayers: number; anchorsPerLocation: number };
  boxHead: { convLayers: number; representationSize: number };
  maskHead: { layerChannels: number[] };
  /** Including background (index 0). */
  numClasses: number;
}

export type ShapeMap = ReadonlyMap<string, readonly number[]>;

/** Legacy names (torchvision < 0.13) and their current spelling; torchvision renames them on load the same way. */
const LEGACY_RENAMES: [RegExp, string][] = [
  [/^rpn\.head\.conv\.(weight|bias)$/, 'rpn.head.conv.0.0.$1'],
  [/^backbone\.fpn\.(inner_blocks|layer_blocks)\.(\d+)\.(weight|bias)$/, 'backbone.fpn.$1.$2.0.$3'],
];

function currentName(name: string): string {
  const withoutWrapper = name.startsWith('module.') ? name.slice('module.'.length) : name;
  const maskFcn = /^roi_heads\.mask_head\.mask_fcn(\d+)\.(weight|bias)$/.exec(withoutWrapper);
  if (maskFcn) return `roi_heads.mask_head.${Number(maskFcn[1]) - 1}.0.${maskFcn[2]}`;
  for (const [pattern, replacement] of LEGACY_RENAMES) {
    if (pattern.test(withoutWrapper)) return withoutWrapper.replace(pattern, replacement);
  }
  return withoutWrapper;
}

/**
 * Bring a state dict to torchvision 0.14's key names: legacy spellings renamed, a DataParallel `module.` prefix
 * dropped, and `num_batches_tracked` counters (training bookkeeping) removed.
 */
export function canonicalStateDict<T>(tensors: ReadonlyMap<string, T>): Map<string, T> {
  const result = new Map<string, T>();
  for (const [name, tensor] of tensors) {
    if (name.endsWith('.num_batches_tracked')) continue;
    const canonical = currentName(name);
    if (result.has(canonical)) throw new UserError(`tensor ${name} duplicates ${canonical}`);
    result.set(canonical, tensor);
  }
  return result;
}

const STANDARD_DEPTHS: Record<string, number> = {
  'basic:2,2,2,2': 18,
  'basic:3,4,6,3': 34,
  'bottleneck:3,4,6,3': 50,
  'bottleneck:3,4,23,3': 101,
  'bottleneck:3,8,36,3': 152,
};

class ShapeReader {
  readonly used = new Set<string>();

  constructor(private readonly shapes: ShapeMap) {}

  has(name: string): boolean {
    return this.shapes.has(name);
  }

  shape(name: string): readonly number[] {
    const shape = this.shapes.get(name);
    if (!shape) throw new UserError(`not a torchvision Mask R-CNN state dict: tensor ${name} is missing`);
    this.used.add(name);
    return shape;
  }

  expect(name: string, expected: readonly number[]): void {
    const shape = this.shape(name);
    if (shape.length !== expected.length || shape.some((size, i) => size !== expected[i])) {
      throw new UserError(`tensor ${name} has shape [${shape.join(', ')}], expected [${expected.join(', ')}]`);
    }
  }

  /** A norm layer's four tensors, each [channels]. */
  norm(prefix: string, channels: number): void {
    for (const field of ['weight', 'bias', 'running_mean', 'running_var']) this.expect(`${prefix}.${field}`, [channels]);
  }

  /** How many consecutive `${prefix}${i}${suffix}` exist from i = 0. */
  count(prefix: string, suffix: string): number {
    let i = 0;
    while (this.shapes.has(`${prefix}${i}${suffix}`)) i++;
    return i;
  }
}

function readBackbone(read: ShapeReader): MaskRcnnArchitecture['backbone'] {
  const stem = read.shape('backbone.body.conv1.weight');
  if (stem.length !== 4 || stem[1] !== 3) throw new UserError(`tensor backbone.body.conv1.weight has shape [${stem.join(', ')}], expected [C, 3, 7, 7]`);
  const stemChannels = stem[0] as number;
  read.norm('backbone.body.bn1', stemChannels);
  const block = read.has('backbone.body.layer1.0.conv3.weight') ? 'bottleneck' : 'basic';
  const convs = block === 'bottleneck' ? 3 : 2;
  const blocks: number[] = [];
  const stageChannels: number[] = [];
  let inChannels = stemChannels;
  for (let stage = 1; stage <= 4; stage++) {
    const layer = `backbone.body.layer${stage}`;
    const count = read.count(`${layer}.`, '.conv1.weight');
    if (count === 0) throw new UserError(`not a torchvision ResNet backbone: tensor ${layer}.0.conv1.weight is missing`);
    let outChannels = 0;
    for (let b = 0; b < count; b++) {
      let channels = inChannels;
      for (let c = 1; c <= convs; c++) {
        const shape = read.shape(`${layer}.${b}.conv${c}.weight`);
        if (shape[1] !== channels) {
          throw new UserError(`tensor ${layer}.${b}.conv${c}.weight has ${shape[1]} input channels, expected ${channels}`);
        }
        channels = shape[0] as number;
        read.norm(`${layer}.${b}.bn${c}`, channels);
      }
      if (read.has(`${layer}.${b}.downsample.0.weight`)) {
        read.expect(`${layer}.${b}.downsample.0.weight`, [channels, inChannels, 1, 1]);
        read.norm(`${layer}.${b}.downsample.1`, channels);
      } else if (channels !== inChannels) {
        throw new UserError(`block ${layer}.${b} changes channels ${inChannels} -> ${channels} but has no downsample`);
      }
      inChannels = channels;
      outChannels = channels;
    }
    blocks.push(count);
    stageChannels.push(outChannels);
  }
  const result: MaskRcnnArchitecture['backbone'] = {
    block,
    blocks: blocks as [number, number, number, number],
    stemChannels,
    stageChannels: stageChannels as [number, number, number, number],
  };
  const depth = STANDARD_DEPTHS[`${block}:${blocks.join(',')}`];
  if (depth !== undefined) result.depth = depth;
  return result;
}

/**
 * Read the architecture off canonical tensor names and shapes (see `canonicalStateDict`). Every tensor must be
 * accounted for: an unknown one means a model this port does not implement, which must not load silently.
 */
export function inferArchitecture(shapes: ShapeMap): MaskRcnnArchitecture {
  const read = new ShapeReader(shapes);
  const backbone = readBackbone(read);
  const variant = read.has('backbone.fpn.inner_blocks.0.1.weight') ? 'v2' : 'v1';
  const fpnChannels = read.shape('backbone.fpn.inner_blocks.0.0.weight')[0] as number;
  backbone.stageChannels.forEach((channels, i) => {
    read.expect(`backbone.fpn.inner_blocks.${i}.0.weight`, [fpnChannels, channels, 1, 1]);
    read.expect(`backbone.fpn.layer_blocks.${i}.0.weight`, [fpnChannels, fpnChannels, 3, 3]);
    if (variant === 'v1') {
      read.expect(`backbone.fpn.inner_blocks.${i}.0.bias`, [fpnChannels]);
      read.expect(`backbone.fpn.layer_blocks.${i}.0.bias`, [fpnChannels]);
    } else {
      read.norm(`backbone.fpn.inner_blocks.${i}.1`, fpnChannels);
      read.norm(`backbone.fpn.layer_blocks.${i}.1`, fpnChannels);
    }
  });

  const rpnConvLayers = read.count('rpn.head.conv.', '.0.weight');
  for (let i = 0; i < rpnConvLayers; i++) {
    read.expect(`rpn.head.conv.${i}.0.weight`, [fpnChannels, fpnChannels, 3, 3]);
    read.expect(`rpn.head.conv.${i}.0.bias`, [fpnChannels]);
  }
  const anchorsPerLocation = read.shape('rpn.head.cls_logits.weight')[0] as number;
  read.expect('rpn.head.cls_logits.weight', [anchorsPerLocation, fpnChannels, 1, 1]);
  read.expect('rpn.head.cls_logits.bias', [anchorsPerLocation]);
  read.expect('rpn.head.bbox_pred.weight', [4 * anchorsPerLocation, fpnChannels, 1, 1]);
  read.expect('rpn.head.bbox_pred.bias', [4 * anchorsPerLocation]);

  // Box head: v1 fc6/fc7 on the flattened 7x7 pool; v2 four conv+BN, then one linear layer (index 5).
  let boxConvLayers = 0;
  let representationSize: number;
  if (variant === 'v1') {
    representationSize = read.shape('roi_heads.box_head.fc6.weight')[0] as number;
    read.expect('roi_heads.box_head.fc6.weight', [representationSize, fpnChannels * 49]);
    read.expect('roi_heads.box_head.fc6.bias', [representationSize]);
    read.expect('roi_heads.box_head.fc7.weight', [representationSize, representationSize]);
    read.expect('roi_heads.box_head.fc7.bias', [representationSize]);
  } else {
    boxConvLayers = read.count('roi_heads.box_head.', '.0.weight');
    for (let i = 0; i < boxConvLayers; i++) {
      read.expect(`roi_heads.box_head.${i}.0.weight`, [fpnChannels, fpnChannels, 3, 3]);
      read.norm(`roi_heads.box_head.${i}.1`, fpnChannels);
    }
    const linear = `roi_heads.box_head.${boxConvLayers + 1}`;
    representationSize = read.shape(`${linear}.weight`)[0] as number;
    read.expect(`${linear}.weight`, [representationSize, fpnChannels * 49]);
    read.expect(`${linear}.bias`, [representationSize]);
  }
  const numClasses = read.shape('roi_heads.box_predictor.cls_score.weight')[0] as number;
  read.expect('roi_heads.box_predictor.cls_score.weight', [numClasses, representationSize]);
  read.expect('roi_heads.box_predictor.cls_score.bias', [numClasses]);
  read.expect('roi_heads.box_predictor.bbox_pred.weight', [4 * numClasses, representationSize]);
  read.expect('roi_heads.box_predictor.bbox_pred.bias', [4 * numClasses]);

  const maskLayers = read.count('roi_heads.mask_head.', '.0.weight');
  const layerChannels: number[] = [];
  let channels = fpnChannels;
  for (let i = 0; i < maskLayers; i++) {
    const shape = read.shape(`roi_heads.mask_head.${i}.0.weight`);
    read.expect(`roi_heads.mask_head.${i}.0.weight`, [shape[0] as number, channels, 3, 3]);
    channels = shape[0] as number;
    if (variant === 'v1') read.expect(`roi_heads.mask_head.${i}.0.bias`, [channels]);
    else read.norm(`roi_heads.mask_head.${i}.1`, channels);
    layerChannels.push(channels);
  }
  const predictorChannels = read.shape('roi_heads.mask_predictor.conv5_mask.weight')[1] as number;
  read.expect('roi_heads.mask_predictor.conv5_mask.weight', [channels, predictorChannels, 2, 2]);
  read.expect('roi_heads.mask_predictor.conv5_mask.bias', [predictorChannels]);
  read.expect('roi_heads.mask_predictor.mask_fcn_logits.weight', [numClasses, predictorChannels, 1, 1]);
  read.expect('roi_heads.mask_predictor.mask_fcn_logits.bias', [numClasses]);

  const unknown = [...shapes.keys()].filter((name) => !read.used.has(name));
  if (unknown.length > 0) {
    const more = unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : '';
    throw new UserError(`unrecognised tensor ${unknown[0]}${more}: not part of a torchvision Mask R-CNN`);
  }
  return {
    variant,
    backbone,
    fpnChannels,
    rpn: { convLayers: rpnConvLayers, anchorsPerLocation },
    boxHead: { convLayers: boxConvLayers, representationSize },
    maskHead: { layerChannels },
    numClasses,
  };
}
