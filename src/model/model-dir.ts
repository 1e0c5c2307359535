import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserError, errorMessage } from '../errors';
import { canonicalStateDict, inferArchitecture, type MaskRcnnArchitecture } from './architecture';
import { COCO_CATEGORIES } from './labels';
import { ANCHOR_DEFAULTS, type AnchorConfig } from './ops/anchors';
import { MASKRCNN_TRANSFORM, type TransformConfig } from './transform';
import { readSafetensors, writeSafetensors } from './weights/safetensors';
import { elementCount, fromFloat32, toFloat32, type RawTensor } from './weights/tensor';
import { readTorchCheckpoint } from './weights/torch-checkpoint';

export const MODEL_FORMAT = 'dashseg-maskrcnn';
export const MODEL_CONFIG_FILE = 'model.json';
export const MODEL_WEIGHTS_FILE = 'weights.safetensors';

export type WeightsDtype = 'float32' | 'float16';

/** model.json: everything needed to rebuild the model besides the tensors, which sit beside it in safetensors. */
export interface ModelConfig {
  format: typeof MODEL_FORMAT;
  version: 1;
  architecture: MaskRcnnArchitecture;
  /** Class names by label index, background first: `labels.length === architecture.numClasses`. */
  labels: string[];
  transform: TransformConfig;
  /**
   * Epsilon of the backbone's frozen batch norms: 1e-5 as torchvision builds models, 0 for torchvision's own
   * COCO v1 release, which it loads with `overwrite_eps(model, 0.0)` (maskrcnn-spec §2.2).
   */
  frozenBatchNormEps: number;
  /**
   * The RPN's anchor sizes and aspect ratios per FPN level. They are not in the state dict, so a model trained with
   * other anchors than torchvision's says so here; absent means torchvision's (32..512, ratios 0.5/1/2).
   */
  anchors?: AnchorConfig;
  /** How the model is best run where the user does not say; absent leaves it to the tool's generic defaults. */
  operatingPoint?: OperatingPoint;
  weights: { file: string; dtype: WeightsDtype; parameters: number };
  source?: { file: string; sha256: string; format: string; convertedAt: string };
}

/**
 * The score threshold and tracker setting a model was calibrated for, on clips it was neither trained nor scored on.
 * Scores are each model's own scale: a compact model trained on synthetic scenes is not sure of things in the
 * measure a COCO ResNet-50 is, and a threshold that suits one lets the other's near-misses through, each of which
 * costs a tracker a false positive and a miss at once.
 */
export interface OperatingPoint {
  /** Least detection score to report and track (`--score`). */
  score?: number;
  /** Least mask IoU for the tracker to continue a track (`--track-iou`). */
  trackIou?: number;
}

export interface ModelDirectory {
  dir: string;
  config: ModelConfig;
  /** Canonical torchvision names, float32 or float16 as stored. */
  tensors: Map<string, RawTensor>;
}

export type CheckpointFormat = 'zip' | 'legacy' | 'safetensors';

export interface Checkpoint {
  tensors: Map<string, RawTensor>;
  format: CheckpointFormat;
}

/** The architecture that a state dict's names and shapes say (see `inferArchitecture`). */
function architectureOf(tensors: ReadonlyMap<string, RawTensor>): MaskRcnnArchitecture {
  return inferArchitecture(new Map([...tensors].map(([name, tensor]) => [name, tensor.shape])));
}

function parameterCount(tensors: ReadonlyMap<string, RawTensor>): number {
  return [...tensors.values()].reduce((sum, tensor) => sum + elementCount(tensor.shape), 0);
}

/** safetensors files start with their header's length and then the JSON header itself. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  return bytes.length > 9 && bytes[8] === 0x7b && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0;
}

/** A PyTorch checkpoint (zip or legacy) or a safetensors file, told apart by their first bytes. */
export function readCheckpoint(bytes: Uint8Array, name: string): Checkpoint {
  if (looksLikeSafetensors(bytes)) return { tensors: readSafetensors(bytes, name).tensors, format: 'safetensors' };
  const checkpoint = readTorchCheckpoint(bytes, name);
  return { tensors: checkpoint.tensors, format: checkpoint.format };
}

function readFile(path: string): Uint8Array {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  if (statSync(path).isDirectory()) throw new UserError(`${path}: is a directory, expected a checkpoint file`);
  return readFileSync(path);
}

/**
 * Class names for a model with `numClasses` outputs: `coco` (torchvision's 91), a text file with one name per
 * line (with or without the background entry), or, by default, COCO's when the count matches and `class N`
 * otherwise.
 */
export function resolveLabels(spec: string | undefined, numClasses: number): string[] {
  if (spec === undefined) {
    return numClasses === COCO_CATEGORIES.length
      ? [...COCO_CATEGORIES]
      : ['__background__', ...Array.from({ length: numClasses - 1 }, (_, i) => `class ${i + 1}`)];
  }
  if (spec === 'coco') {
    if (numClasses !== COCO_CATEGORIES.length) {
      throw new UserError(`--labels coco names 91 classes, but the model has ${numClasses}`);
    }
    return [...COCO_CATEGORIES];
  }
  const names = readFileSync(spec, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (names.length === numClasses) return names;
  if (names.length === numClasses - 1) return ['__background__', ...names];
  throw new UserError(`${spec}: ${names.length} labels, but the model has ${numClasses} classes (${numClasses - 1} without background)`);
}

export interface ConvertOptions {
  out: string;
  labels?: string;
  minSize?: number;
  maxSize?: number;
  bnEps?: number;
  dtype?: WeightsDtype;
  /** The anchor sizes of each FPN level, as the model was trained with. */
  anchorSizes?: readonly (readonly number[])[];
  /** Aspect ratios (height / width) of every level's anchors. */
  aspectRatios?: readonly number[];
  operatingPoint?: OperatingPoint;
}

/** FPN levels '0'..'3' and 'pool': torchvision's Mask R-CNN always has five. */
const FPN_LEVELS = 5;

/**
 * Check anchors against the architecture: one entry per FPN level, and as many anchors per location as the RPN
 * head predicts. Wrong anchors would run without error and propose nonsense, so they are refused here.
 */
export function checkAnchors(anchors: AnchorConfig, architecture: MaskRcnnArchitecture, where: string): void {
  const { sizes, aspectRatios } = anchors;
  const positive = (values: unknown): boolean =>
    Array.isArray(values) && values.length > 0 && values.every((value) => typeof value === 'number' && Number.isFinite(value) && value > 0);
  if (!Array.isArray(sizes) || !Array.isArray(aspectRatios) || sizes.length !== FPN_LEVELS || aspectRatios.length !== FPN_LEVELS) {
    throw new UserError(`${where}: anchors need sizes and aspect ratios for each of the ${FPN_LEVELS} FPN levels`);
  }
  for (let level = 0; level < FPN_LEVELS; level++) {
    const levelSizes = sizes[level];
    const levelRatios = aspectRatios[level];
    if (!positive(levelSizes) || !positive(levelRatios)) {
      throw new UserError(`${where}: anchor sizes and aspect ratios must be positive numbers (FPN level ${level})`);
    }
    const perLocation = (levelSizes as readonly number[]).length * (levelRatios as readonly number[]).length;
    if (perLocation !== architecture.rpn.anchorsPerLocation) {
      throw new UserError(
        `${where}: ${perLocation} anchors per location at FPN level ${level}, but the RPN head predicts ${architecture.rpn.anchorsPerLocation}`,
      );
    }
  }
}

function anchorsFor(options: ConvertOptions, architecture: MaskRcnnArchitecture): AnchorConfig {
  const sizes = (options.anchorSizes ?? ANCHOR_DEFAULTS.sizes).map((level) => [...level]);
  const ratios = options.aspectRatios ?? ANCHOR_DEFAULTS.aspectRatios[0] ?? [];
  const anchors: AnchorConfig = { sizes, aspectRatios: sizes.map(() => [...ratios]) };
  const given = options.anchorSizes !== undefined || options.aspectRatios !== undefined;
  checkAnchors(anchors, architecture, given ? 'anchors' : "torchvision's default anchors (give --anchor-sizes and --aspect-ratios as trained)");
  return anchors;
}

function storedTensors(tensors: ReadonlyMap<string, RawTensor>, dtype: WeightsDtype): Map<string, RawTensor> {
  const stored = new Map<string, RawTensor>();
  for (const [name, tensor] of tensors) {
    if (!['float32', 'float16', 'bfloat16', 'float64'].includes(tensor.dtype)) {
      throw new UserError(`tensor ${name} is ${tensor.dtype}; a Mask R-CNN's weights are floating point`);
    }
    stored.set(name, fromFloat32(toFloat32(tensor, name), tensor.shape, dtype));
  }
  return stored;
}

/**
 * `dashseg weights convert`: read a checkpoint, map its names to torchvision 0.14's, infer the architecture from
 * the shapes, and write a model directory. Refuses, naming the tensor, anything that is not a Mask R-CNN it can run.
 */
export function convertCheckpoint(path: string, options: ConvertOptions): ModelConfig {
  const bytes = readFile(path);
  const checkpoint = readCheckpoint(bytes, path);
  const tensors = canonicalStateDict(checkpoint.tensors);
  const architecture = architectureOf(tensors);
  const dtype = options.dtype ?? 'float32';
  const stored = storedTensors(tensors, dtype);
  const config: ModelConfig = {
    format: MODEL_FORMAT,
    version: 1,
    architecture,
    labels: resolveLabels(options.labels, architecture.numClasses),
    transform: {
      ...MASKRCNN_TRANSFORM,
      ...(options.minSize !== undefined ? { minSize: options.minSize } : {}),
      ...(options.maxSize !== undefined ? { maxSize: options.maxSize } : {}),
    },
    frozenBatchNormEps: options.bnEps ?? 1e-5,
    anchors: anchorsFor(options, architecture),
    ...(options.operatingPoint !== undefined && Object.keys(options.operatingPoint).length > 0
      ? { operatingPoint: checkOperatingPoint(options.operatingPoint, 'operating point') }
      : {}),
    weights: {
      file: MODEL_WEIGHTS_FILE,
      dtype,
      parameters: parameterCount(stored),
    },
    source: {
      file: basename(path),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      format: checkpoint.format,
      convertedAt: new Date().toISOString(),
    },
  };
  try {
    mkdirSync(options.out, { recursive: true });
    writeFileSync(join(options.out, MODEL_WEIGHTS_FILE), writeSafetensors(stored, { format: MODEL_FORMAT }));
    writeFileSync(join(options.out, MODEL_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  } catch (error) {
    throw new UserError(`${options.out}: cannot write the model (${errorMessage(error)})`);
  }
  return config;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Each operating-point setting's least value; the most is 1. The flags (`--score`, `--track-iou` and convert's
 * defaults) and the config file take the same ranges. A track IoU of 0 would let any two masks continue a track.
 */
export const OPERATING_POINT_LEAST: Readonly<Record<keyof OperatingPoint, number>> = Object.freeze({ score: 0, trackIou: 0.01 });

/** The ranges of OPERATING_POINT_LEAST, and no other keys. */
function checkOperatingPoint(value: unknown, where: string): OperatingPoint {
  if (!isRecord(value)) throw new UserError(`${where} must be an object`);
  const least = OPERATING_POINT_LEAST;
  for (const [key, v] of Object.entries(value)) {
    if (!Object.hasOwn(least, key)) throw new UserError(`${where}: unknown setting "${key}" (known: ${Object.keys(least).join(', ')})`);
    const min = least[key as keyof OperatingPoint];
    if (!(typeof v === 'number' && v >= min && v <= 1)) throw new UserError(`${where}: ${key} must be a number from ${min} to 1, got ${JSON.stringify(v)}`);
  }
  return value as OperatingPoint;
}

/** A model directory's model.json alone (labels, sizes), without reading its weights. */
export function readModelConfig(dir: string): ModelConfig {
  const configPath = join(dir, MODEL_CONFIG_FILE);
  if (!existsSync(configPath)) throw new UserError(`${dir}: not a dashseg model directory (no ${MODEL_CONFIG_FILE})`);
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (error) {
    throw new UserError(`${configPath}: not valid JSON (${errorMessage(error)})`);
  }
  if (!isRecord(config) || config.format !== MODEL_FORMAT || config.version !== 1) {
    throw new UserError(`${configPath}: not a ${MODEL_FORMAT} version 1 model`);
  }
  if (config.operatingPoint !== undefined) checkOperatingPoint(config.operatingPoint, `${configPath}: operatingPoint`);
  return config as unknown as ModelConfig;
}

/** Load and cross-check a model directory: the stored architecture must be what the tensors say. */
export function loadModelDirectory(dir: string): ModelDirectory {
  const configPath = join(dir, MODEL_CONFIG_FILE);
  const typed = readModelConfig(dir);
  const tensors = canonicalStateDict(readSafetensors(readFile(join(dir, typed.weights.file)), join(dir, typed.weights.file)).tensors);
  const architecture = architectureOf(tensors);
  if (JSON.stringify(architecture) !== JSON.stringify(typed.architecture)) {
    throw new UserError(`${configPath}: the architecture it records does not match ${typed.weights.file}`);
  }
  if (!Array.isArray(typed.labels) || typed.labels.length !== architecture.numClasses) {
    throw new UserError(`${configPath}: ${Array.isArray(typed.labels) ? typed.labels.length : 'no'} labels for ${architecture.numClasses} classes`);
  }
  if (typed.anchors !== undefined) checkAnchors(typed.anchors, architecture, configPath);
  return { dir, config: typed, tensors };
}

/**
 * Class ids for class names given by the user (`--classes car,person`), checked against the model's labels so a
 * typo is an error rather than an empty output.
 */
export function classIdsFor(labels: readonly string[], names: readonly string[]): number[] {
  const ids: number[] = [];
  for (const name of names) {
    const wanted = name.trim().toLowerCase();
    const matches = labels.flatMap((label, id) => (id > 0 && label.toLowerCase() === wanted ? [id] : []));
    if (matches.length === 0) {
      const known = labels.slice(1).filter((label) => label !== 'N/A');
      throw new UserError(`unknown class "${name}": this model knows ${known.join(', ')}`);
    }
    ids.push(...matches);
  }
  return [...new Set(ids)];
}

/** `32, 64, 128, 256, 512 px, ratios 0.5/1/2`: sizes per level, and the ratios once when every level shares them. */
function describeAnchors({ sizes, aspectRatios }: AnchorConfig): string {
  const ratios = [...new Set(aspectRatios.map((level) => level.join('/')))];
  return `${sizes.map((level) => level.join('/')).join(', ')} px, ratios ${ratios.join(' | ')}`;
}

/** `score 0.7, track IoU 0.2`: what the model sets, in the flags' words. */
export function describeOperatingPoint(point: OperatingPoint): string {
  return [
    ...(point.score !== undefined ? [`score ${point.score}`] : []),
    ...(point.trackIou !== undefined ? [`track IoU ${point.trackIou}`] : []),
  ].join(', ');
}

/** Human-readable lines for `dashseg weights inspect`. */
export function describeModel(config: ModelConfig): string[] {
  const { architecture: a } = config;
  const backbone = a.backbone.depth !== undefined ? `ResNet-${a.backbone.depth}` : `ResNet (${a.backbone.block}, blocks ${a.backbone.blocks.join('/')})`;
  const classes = config.labels.slice(1).filter((label) => label !== 'N/A');
  return [
    `architecture   Mask R-CNN ${a.variant}, ${backbone} + FPN(${a.fpnChannels}), stage channels ${a.backbone.stageChannels.join('/')}`,
    `heads          RPN ${a.rpn.convLayers} conv, ${a.rpn.anchorsPerLocation} anchors/location; box ${a.boxHead.convLayers > 0 ? `${a.boxHead.convLayers} conv + ` : '2 fc '}${a.boxHead.representationSize}; mask ${a.maskHead.layerChannels.join('/')}`,
    `classes        ${a.numClasses} (${classes.length} named): ${classes.slice(0, 12).join(', ')}${classes.length > 12 ? ', ...' : ''}`,
    `parameters     ${config.weights.parameters.toLocaleString('en-US')} (${config.weights.dtype})`,
    `input sizes    min ${config.transform.minSize}, max ${config.transform.maxSize}, padded to ${config.transform.sizeDivisible}`,
    `anchors        ${describeAnchors(config.anchors ?? ANCHOR_DEFAULTS)}`,
    `frozen BN eps  ${config.frozenBatchNormEps}`,
    ...(config.operatingPoint ? [`runs at        ${describeOperatingPoint(config.operatingPoint)} unless told otherwise`] : []),
    ...(config.source ? [`source         ${config.source.file} (${config.source.format}, sha256 ${config.source.sha256.slice(0, 16)}...)`] : []),
  ];
}

/**
 * `dashseg weights inspect` of a checkpoint not yet converted: described as it would convert with the defaults
 * (COCO names for 91 classes), less what the checkpoint cannot tell (input sizes, batch-norm epsilon), plus how it is
 * stored.
 */
export function describeCheckpoint(bytes: Uint8Array, name: string): string[] {
  const checkpoint = readCheckpoint(bytes, name);
  const tensors = canonicalStateDict(checkpoint.tensors);
  const architecture = architectureOf(tensors);
  const dtypes = [...new Set([...tensors.values()].map((tensor) => tensor.dtype))];
  const lines = describeModel({
    format: MODEL_FORMAT,
    version: 1,
    architecture,
    labels: resolveLabels(undefined, architecture.numClasses),
    transform: MASKRCNN_TRANSFORM,
    frozenBatchNormEps: 1e-5,
    weights: { file: name, dtype: 'float32', parameters: parameterCount(tensors) },
  }).filter((line) => !line.startsWith('frozen BN eps') && !line.startsWith('input sizes'));
  return [...lines, `checkpoint     ${checkpoint.format} format, ${tensors.size} tensors, stored as ${dtypes.join('/')}`];
}
