import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, errorMessage } from '../errors';
import { BACKEND_ORDER, type BackendName } from '../model/backend';
import { OPERATING_POINT_LEAST } from '../model/model-dir';
import { packageRoot } from '../paths';
import { X264_PRESETS, type X264Preset } from '../video/encode';

export interface DashsegConfig {
  decode: {
    /** Memory for decoded frames waiting downstream; the decoder pauses when it is used up. */
    bufferMegabytes: number;
  };
  encode: { preset: X264Preset; crf: number };
  hud: { enabled: boolean };
  progress: { intervalSeconds: number };
  model: {
    /** `--model`: a directory, a pulled or bundled model's name, `default`, or `none`. */
    name: string;
    backend: BackendName | 'auto';
    workers: number | 'auto';
    /** Intra-op threads per worker on ONNX backends. */
    threads: number | 'auto';
    /** Least score, or "model" for the model's operating point (0.5 where it has none). */
    score: number | 'model';
    /** Resize sizes, or "model" for the model's own. */
    minSize: number | 'model';
    maxSize: number | 'model';
    /** Class names to keep; empty keeps all. */
    classes: string[];
  };
  schedule: { every: number; maxFps: number | null; maxLatencyMs: number };
  /** `iou`: least mask IoU to continue a track, or "model" for the model's operating point (0.3 where it has none). */
  /** `backfill`: report confirmed tracks from their first detection, holding recorded files' frames back until then. */
  tracker: { iou: number | 'model'; minHits: number; maxAge: number; coast: number; motionSmoothing: number; backfill: boolean };
  render: { maskOpacity: number; lineWidth: number; fontSize: number; palette: [number, number, number][] };
  stream: {
    bufferMegabytes: number;
    reconnectInitialSeconds: number;
    reconnectMaxSeconds: number;
    giveUpSeconds: number;
    stallSeconds: number;
    statsIntervalSeconds: number;
  };
}


type Check = (value: unknown) => string | undefined;

const positiveNumber: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'a number > 0');
const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `one of ${values.join(', ')}`;
const numberIn =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === 'number' && v >= min && v <= max ? undefined : `a number from ${min} to ${max}`;

const integerFrom =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min ? undefined : `a whole number >= ${min}`;
const either =
  (word: string, check: Check): Check =>
  (v) =>
    v === word ? undefined : check(v) === undefined ? undefined : `"${word}" or ${check(v)}`;
const nullOr =
  (check: Check): Check =>
  (v) =>
    v === null ? undefined : check(v) === undefined ? undefined : `null or ${check(v)}`;
const nonEmptyString: Check = (v) => (typeof v === 'string' && v.length > 0 ? undefined : 'a non-empty string');
const stringList: Check = (v) => (Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0) ? undefined : 'a list of names');
const colorList: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((c) => Array.isArray(c) && c.length === 3 && c.every((x) => Number.isInteger(x) && x >= 0 && x <= 255))
    ? undefined
    : 'a non-empty list of [r, g, b] colours, each 0..255';

const SCHEMA: Record<string, Record<string, Check>> = {
  decode: { bufferMegabytes: positiveNumber },
  encode: { preset: oneOf(X264_PRESETS), crf: numberIn(0, 51) },
  hud: { enabled: boolean },
  progress: { intervalSeconds: positiveNumber },
  model: {
    name: nonEmptyString,
    backend: oneOf(['auto', ...BACKEND_ORDER]),
    workers: either('auto', integerFrom(1)),
    threads: either('auto', integerFrom(1)),
    score: either('model', numberIn(OPERATING_POINT_LEAST.score, 1)),
    minSize: either('model', integerFrom(1)),
    maxSize: either('model', integerFrom(1)),
    classes: stringList,
  },
  schedule: { every: integerFrom(1), maxFps: nullOr(positiveNumber), maxLatencyMs: positiveNumber },
  tracker: { iou: either('model', numberIn(OPERATING_POINT_LEAST.trackIou, 1)), minHits: integerFrom(1), maxAge: integerFrom(0), coast: integerFrom(0), motionSmoothing: numberIn(0.01, 1), backfill: boolean },
  render: { maskOpacity: numberIn(0, 1), lineWidth: integerFrom(1), fontSize: integerFrom(6), palette: colorList },
  stream: {
    bufferMegabytes: positiveNumber,
    reconnectInitialSeconds: positiveNumber,
    reconnectMaxSeconds: positiveNumber,
    giveUpSeconds: positiveNumber,
    stallSeconds: positiveNumber,
    statsIntervalSeconds: positiveNumber,
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new UserError(`${path}: no such config file`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path}: not valid JSON (${errorMessage(error)})`);
  }
}

/** Checks every key against the schema: unknown keys are typos, and a typo silently ignored is a wrong result. */
function validate(value: unknown, path: string, partial: boolean): void {
  if (!isRecord(value)) throw new UserError(`${path}: must be a JSON object`);
  for (const [section, fields] of Object.entries(value)) {
    const schema = Object.hasOwn(SCHEMA, section) ? SCHEMA[section] : undefined;
    if (!schema) throw new UserError(`${path}: unknown section "${section}" (known: ${Object.keys(SCHEMA).join(', ')})`);
    if (!isRecord(fields)) throw new UserError(`${path}: "${section}" must be an object`);
    for (const [key, field] of Object.entries(fields)) {
      const check = Object.hasOwn(schema, key) ? schema[key] : undefined;
      if (!check) throw new UserError(`${path}: unknown setting "${section}.${key}" (known: ${Object.keys(schema).join(', ')})`);
      const problem = check(field);
      if (problem) throw new UserError(`${path}: ${section}.${key} must be ${problem}, got ${JSON.stringify(field)}`);
    }
  }
  if (!partial) {
    for (const [section, fields] of Object.entries(SCHEMA)) {
      for (const key of Object.keys(fields)) {
        const sectionValue = value[section];
        if (!isRecord(sectionValue) || !(key in sectionValue)) throw new UserError(`${path}: missing ${section}.${key}`);
      }
    }
  }
}

/** The shipped defaults, overlaid with a user's file when given (`--config`): it may set any subset of keys. */
export function loadConfig(userPath?: string): DashsegConfig {
  const defaultsPath = join(packageRoot(), 'config', 'defaults.json');
  const defaults = readJson(defaultsPath);
  validate(defaults, defaultsPath, false);
  const merged = structuredClone(defaults) as Record<string, Record<string, unknown>>;
  if (userPath !== undefined) {
    const user = readJson(userPath);
    validate(user, userPath, true);
    for (const [section, fields] of Object.entries(user as Record<string, Record<string, unknown>>)) {
      Object.assign(merged[section] as Record<string, unknown>, fields);
    }
  }
  return merged as unknown as DashsegConfig;
}
