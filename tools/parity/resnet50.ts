/**
 * The full-size maskrcnn_resnet50_fpn of the parity fixtures (test/fixtures/resnet50): its state dict regenerated
 * from the recipe and the model config `weights convert` would write for it, and a check that an image is the one
 * torchvision ran on.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { canonicalStateDict, inferArchitecture } from '../../src/model/architecture';
import type { RgbImage } from '../../src/model/mask-rcnn';
import { MODEL_FORMAT, MODEL_WEIGHTS_FILE, resolveLabels, type ModelConfig } from '../../src/model/model-dir';
import { MASKRCNN_TRANSFORM } from '../../src/model/transform';
import type { RawTensor } from '../../src/model/weights/tensor';
import { packageRoot } from '../../src/paths';
import { generateStateDict, readRecipe, syntheticImage, type Recipe } from './deterministic-weights';

export const RESNET50_FIXTURES = join(packageRoot(), 'test', 'fixtures', 'resnet50');

export type ResNet50Image = 'photo' | 'synthetic';

export interface ResNet50Model {
  recipe: Recipe;
  /** sha256 of the regenerated tensors: the recipe's `stateDictSha256` when both sides agree. */
  sha256: string;
  tensors: Map<string, RawTensor>;
  config: ModelConfig;
}

/** Generating 44 M weights: ~10 s on one core. */
export function resnet50Model(dir = RESNET50_FIXTURES): ResNet50Model {
  const recipe = readRecipe(dir);
  const state = generateStateDict(dir, recipe);
  const tensors = canonicalStateDict(state.tensors);
  const architecture = inferArchitecture(new Map([...tensors].map(([name, tensor]) => [name, tensor.shape])));
  // The fields convertCheckpoint writes, with the reference's settings: COCO labels, default transform, its eps.
  const config: ModelConfig = {
    format: MODEL_FORMAT,
    version: 1,
    architecture,
    labels: resolveLabels('coco', architecture.numClasses),
    transform: { ...MASKRCNN_TRANSFORM },
    frozenBatchNormEps: recipe.eps,
    weights: {
      file: MODEL_WEIGHTS_FILE,
      dtype: 'float32',
      parameters: [...tensors.values()].reduce((sum, tensor) => sum + tensor.shape.reduce((a, b) => a * b, 1), 0),
    },
  };
  return { recipe, sha256: state.sha256, tensors, config };
}

/** The synthetic image, computed from integers as the Python side computed it. */
export function resnet50SyntheticImage(recipe: Recipe): RgbImage {
  const { height, width } = recipe.images.synthetic;
  return { width, height, format: 'rgb', data: syntheticImage(height, width) };
}

/** Throws unless `image` has exactly the pixels torchvision ran on: every comparison would be moot otherwise. */
export function checkResNet50Image(name: ResNet50Image, image: RgbImage, recipe: Recipe): void {
  const info = recipe.images[name];
  const channels = image.format === 'rgba' ? 4 : 3;
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += channels, j += 3) {
    rgb[j] = image.data[i] as number;
    rgb[j + 1] = image.data[i + 1] as number;
    rgb[j + 2] = image.data[i + 2] as number;
  }
  const sha256 = createHash('sha256').update(rgb).digest('hex');
  if (image.width !== info.width || image.height !== info.height || sha256 !== info.rgbSha256) {
    throw new Error(
      `${name}: ${image.width}x${image.height} pixels with sha256 ${sha256}, but torchvision ran on ` +
        `${info.width}x${info.height} with sha256 ${info.rgbSha256}; regenerate with tools/fixtures/make_resnet50_fixtures.py`,
    );
  }
}
