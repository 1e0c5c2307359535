import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../src/errors';
import { canonicalStateDict, inferArchitecture } from '../../src/model/architecture';

/** Tensor names and shapes of real torchvision models (tools/fixtures/make_architecture_fixtures.py). */
function shapes(name: string): Map<string, number[]> {
  const json = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'architecture', `${name}.json`), 'utf8')) as Record<string, number[]>;
  return new Map(Object.entries(json));
}

describe('inferArchitecture', () => {
  it('maskrcnn_resnet50_fpn (v1, COCO layout)', () => {
    expect(inferArchitecture(canonicalStateDict(shapes('maskrcnn_resnet50_fpn')))).toEqual({
      variant: 'v1',
      backbone: { block: 'bottleneck', blocks: [3, 4, 6, 3], stemChannels: 64, stageChannels: [256, 512, 1024, 2048], depth: 50 },
      fpnChannels: 256,
      rpn: { convLayers: 1, anchorsPerLocation: 3 },
      boxHead: { convLayers: 0, representationSize: 1024 },
      maskHead: { layerChannels: [256, 256, 256, 256] },
      numClasses: 91,
    });
  });

  it('maskrcnn_resnet50_fpn_v2: BatchNorm everywhere, two RPN convs, conv box head', () => {
    const architecture = inferArchitecture(canonicalStateDict(shapes('maskrcnn_resnet50_fpn_v2')));
    expect(architecture).toMatchObject({
      variant: 'v2',
      rpn: { convLayers: 2, anchorsPerLocation: 3 },
      boxHead: { convLayers: 4, representationSize: 1024 },
      numClasses: 91,
    });
    expect(architecture.backbone.depth).toBe(50);
  });

  it.each([
    ['maskrcnn_resnet18_fpn_7classes', 'basic', [2, 2, 2, 2], [64, 128, 256, 512], 18],
    ['maskrcnn_resnet34_fpn_7classes', 'basic', [3, 4, 6, 3], [64, 128, 256, 512], 34],
    ['maskrcnn_resnet101_fpn_7classes', 'bottleneck', [3, 4, 23, 3], [256, 512, 1024, 2048], 101],
  ])('%s', (name, block, blocks, stageChannels, depth) => {
    const architecture = inferArchitecture(canonicalStateDict(shapes(name)));
    expect(architecture.backbone).toEqual({ block, blocks, stemChannels: 64, stageChannels, depth });
    expect(architecture.numClasses).toBe(7);
  });

  it('reads reduced widths and non-standard depths without naming a depth', () => {
    // A quarter of every channel count (64 -> 16, 256 -> 64), one block per stage; the heads are set by hand below.
    const keepsShape = (name: string): boolean =>
      name.startsWith('roi_heads.box') || name.includes('mask_fcn_logits') || /^rpn\.head\.(cls_logits|bbox_pred)/.test(name);
    const reduced = new Map<string, number[]>();
    for (const [name, shape] of canonicalStateDict(shapes('maskrcnn_resnet18_fpn_7classes'))) {
      if (/^backbone\.body\.layer\d\.1\./.test(name)) continue;
      reduced.set(name, keepsShape(name) ? shape : shape.map((size, axis) => (axis < 2 && size !== 3 ? size / 4 : size)));
    }
    reduced.set('rpn.head.cls_logits.weight', [3, 64, 1, 1]);
    reduced.set('rpn.head.bbox_pred.weight', [12, 64, 1, 1]);
    reduced.set('roi_heads.box_head.fc6.weight', [256, 64 * 49]);
    reduced.set('roi_heads.box_head.fc6.bias', [256]);
    reduced.set('roi_heads.box_head.fc7.weight', [256, 256]);
    reduced.set('roi_heads.box_head.fc7.bias', [256]);
    reduced.set('roi_heads.box_predictor.cls_score.weight', [7, 256]);
    reduced.set('roi_heads.box_predictor.bbox_pred.weight', [28, 256]);
    reduced.set('roi_heads.mask_predictor.mask_fcn_logits.weight', [7, 64, 1, 1]);
    const architecture = inferArchitecture(reduced);
    expect(architecture.backbone).toEqual({ block: 'basic', blocks: [1, 1, 1, 1], stemChannels: 16, stageChannels: [16, 32, 64, 128] });
    expect(architecture.fpnChannels).toBe(64);
    expect(architecture.boxHead.representationSize).toBe(256);
  });
});

describe('canonicalStateDict', () => {
  it('renames torchvision < 0.13 keys and drops DataParallel prefixes and BN counters', () => {
    const current = canonicalStateDict(shapes('maskrcnn_resnet50_fpn'));
    const legacy = new Map<string, number[]>();
    for (const [name, shape] of current) {
      const old = name
        .replace(/^rpn\.head\.conv\.0\.0\./, 'rpn.head.conv.')
        .replace(/^backbone\.fpn\.(inner_blocks|layer_blocks)\.(\d+)\.0\./, 'backbone.fpn.$1.$2.')
        .replace(/^roi_heads\.mask_head\.(\d+)\.0\./, (_, i: string) => `roi_heads.mask_head.mask_fcn${Number(i) + 1}.`);
      legacy.set(`module.${old}`, shape);
    }
    legacy.set('module.backbone.body.bn1.num_batches_tracked', []);
    expect(legacy.has('module.roi_heads.mask_head.mask_fcn4.weight')).toBe(true);
    expect([...canonicalStateDict(legacy).entries()]).toEqual([...current.entries()]);
  });
});

describe('refusals name the tensor', () => {
  const base = (): Map<string, number[]> => canonicalStateDict(shapes('maskrcnn_resnet50_fpn'));

  function message(tensors: Map<string, number[]>): string {
    try {
      inferArchitecture(tensors);
    } catch (error) {
      expect(error).toBeInstanceOf(UserError);
      return (error as Error).message;
    }
    throw new Error('expected a refusal');
  }

  it('an extra tensor', () => {
    const tensors = base();
    tensors.set('roi_heads.keypoint_head.0.weight', [512, 256, 3, 3]);
    expect(message(tensors)).toBe('unrecognised tensor roi_heads.keypoint_head.0.weight: not part of a torchvision Mask R-CNN');
  });

  it('a missing tensor', () => {
    const tensors = base();
    tensors.delete('roi_heads.mask_predictor.conv5_mask.bias');
    expect(message(tensors)).toMatch(/tensor roi_heads\.mask_predictor\.conv5_mask\.bias is missing/);
  });

  it('a wrong shape', () => {
    const tensors = base();
    tensors.set('roi_heads.box_predictor.bbox_pred.weight', [360, 1024]);
    expect(message(tensors)).toBe('tensor roi_heads.box_predictor.bbox_pred.weight has shape [360, 1024], expected [364, 1024]');
  });

  it('a classification ResNet instead of a detector', () => {
    const tensors = new Map([...base()].filter(([name]) => name.startsWith('backbone.body.')));
    expect(message(tensors)).toMatch(/tensor backbone\.fpn\.inner_blocks\.0\.0\.weight is missing/);
  });
});
