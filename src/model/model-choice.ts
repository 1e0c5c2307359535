import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import { packageRoot } from '../paths';
import { MODEL_CONFIG_FILE } from './model-dir';
import { modelCacheDir } from './pull';

/** What `--model default` means, in order of preference. */
export const PREFERRED_DEFAULT = 'maskrcnn_resnet50_fpn_coco';
/** The model the project trains on its synthetic scenes and ships in weights/. */
export const BUNDLED_DEFAULT = 'dashseg-synth';

export interface ModelChoice {
  dir: string;
  /** Which model and why, for the one line the CLI prints. */
  reason: string;
}

export function isModelDir(dir: string): boolean {
  return existsSync(join(dir, MODEL_CONFIG_FILE));
}

/** Where a model shipped with the package (weights/<name>) lives. */
export function shippedModelDir(name: string): string {
  return join(packageRoot(), 'weights', name);
}

/**
 * A model directory as given, a model pulled into the cache under that name, a model shipped in weights/, or for
 * `default`: COCO weights when they have been pulled (real footage), otherwise the bundled synthetic-scene model.
 */
export function chooseModel(model: string): ModelChoice {
  if (model === 'default') {
    const coco = join(modelCacheDir(), PREFERRED_DEFAULT);
    if (isModelDir(coco)) return { dir: coco, reason: `model ${PREFERRED_DEFAULT} (default: COCO weights found in ${modelCacheDir()})` };
    const bundled = shippedModelDir(BUNDLED_DEFAULT);
    if (isModelDir(bundled)) {
      return { dir: bundled, reason: `model ${BUNDLED_DEFAULT} (default: bundled, synthetic scenes only; dashseg weights pull ${PREFERRED_DEFAULT} for real footage)` };
    }
    throw new UserError(
      `no default model is installed: pull COCO weights (dashseg weights pull ${PREFERRED_DEFAULT}), give --model <dir>, or use --model none`,
    );
  }
  if (isModelDir(model)) return { dir: model, reason: `model directory ${model}` };
  const cached = join(modelCacheDir(), model);
  if (isModelDir(cached)) return { dir: cached, reason: `model ${model} (pulled, ${cached})` };
  const shipped = shippedModelDir(model);
  if (isModelDir(shipped)) return { dir: shipped, reason: `model ${model} (bundled)` };
  throw new UserError(
    `model "${model}" not found: give a model directory (dashseg weights convert <checkpoint> --out <dir>) or the name of a pulled model (dashseg weights pull <name>)`,
  );
}
