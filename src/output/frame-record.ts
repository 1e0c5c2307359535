/**
 * The per-frame JSON Lines record of shared/contracts/frame-json.md, as types, a validator and the serializer
 * every emitting command uses. The contract is normative and downstream planners parse it, so the validator
 * checks every rule it states, and the serializer refuses to write what JSON.stringify would quietly corrupt.
 */

import { type CocoRle, rleCounts } from './rle';

/** Bumped only together with a breaking change to the contract. */
export const SCHEMA_VERSION = 1;

export interface InstanceRecord {
  /** Track id, stable across frames; null where no tracker ran (`detect`). */
  id: number | null;
  /** Index into the model's label list (torchvision COCO layout: 91 slots). */
  classId: number;
  label: string;
  /** Detector score; on carried frames, the score of the last frame the model ran on. */
  score: number;
  /** x1, y1, x2, y2 in source pixels. */
  box: [number, number, number, number];
  /** Binary mask at source resolution, `size` = [height, width] of the frame. */
  mask: CocoRle;
  [extra: string]: unknown;
}

export interface FrameRecord {
  schemaVersion: 1;
  /** Input path or URL as given on the command line. */
  source: string;
  /** 0-based index of the decoded frame in the source. */
  frame: number;
  /** Presentation time in seconds from the container, not index / fps. */
  pts: number;
  width: number;
  height: number;
  /** False when the model did not run and the tracker carried the instances. */
  inferred: boolean;
  /** Wall time from frame decode to writing this line. */
  latencyMs?: number;
  /** Sorted by descending score. */
  instances: InstanceRecord[];
  [extra: string]: unknown;
}

/** Key order of the contract's example; consumers eyeballing or diffing lines rely on it staying put. */
const FRAME_KEYS = ['schemaVersion', 'source', 'frame', 'pts', 'width', 'height', 'inferred', 'latencyMs', 'instances'];
const INSTANCE_KEYS = ['id', 'classId', 'label', 'score', 'box', 'mask'];
const MASK_KEYS = ['size', 'counts'];

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short rendering of an offending value for messages; strings are cut so a mask cannot flood a log. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}...` : JSON.stringify(value);
  }
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n (a bigint)`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isIntegerAtLeast(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/**
 * Reports what JSON cannot carry faithfully anywhere under `value`: NaN and Infinity (written as null),
 * bigints (JSON.stringify throws), functions and symbols (silently dropped), and cycles.
 */
function collectJsonProblems(value: unknown, path: string, problems: string[], ancestors: Set<object>): void {
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) problems.push(`${path}: must be a finite number, got ${describe(value)}`);
      return;
    case 'bigint':
    case 'function':
    case 'symbol':
      problems.push(`${path}: ${describe(value)} cannot be written as JSON`);
      return;
    case 'object': {
      if (value === null) return;
      if (ancestors.has(value)) {
        problems.push(`${path}: refers back to itself, which JSON cannot represent`);
        return;
      }
      ancestors.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, index) => collectJsonProblems(item, `${path}[${index}]`, problems, ancestors));
      } else {
        for (const [key, item] of Object.entries(value)) {
          collectJsonProblems(item, `${path}.${key}`, problems, ancestors);
        }
      }
      ancestors.delete(value);
      return;
    }
    default:
      return;
  }
}

function checkExtras(object: JsonObject, known: readonly string[], path: string, problems: string[]): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) {
      collectJsonProblems(object[key], path === '' ? key : `${path}.${key}`, problems, new Set());
    }
  }
}

function checkMask(mask: unknown, path: string, frameSize: [number, number] | null, problems: string[]): void {
  if (!isObject(mask)) {
    problems.push(`${path}: must be a COCO RLE object {size, counts}, got ${describe(mask)}`);
    return;
  }
  const { size, counts } = mask;
  let sizeOk = false;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((n) => isIntegerAtLeast(n, 0))) {
    problems.push(`${path}.size: must be [height, width] as two non-negative integers, got ${describe(size)}`);
  } else {
    sizeOk = true;
    if (frameSize !== null && (size[0] !== frameSize[0] || size[1] !== frameSize[1])) {
      problems.push(
        `${path}.size: must equal the frame's [height, width] = [${frameSize.join(', ')}], got [${size.join(', ')}]`,
      );
    }
  }
  if (typeof counts !== 'string') {
    problems.push(`${path}.counts: must be a compressed RLE string, got ${describe(counts)}`);
  } else if (sizeOk) {
    try {
      rleCounts({ size: size as [number, number], counts });
    } catch (error) {
      problems.push(`${path}.counts: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  checkExtras(mask, MASK_KEYS, path, problems);
}

function checkBox(box: unknown, path: string, problems: string[]): void {
  if (!Array.isArray(box) || box.length !== 4 || !box.every(isFiniteNumber)) {
    const got = Array.isArray(box) ? `[${box.map(describe).join(', ')}]` : describe(box);
    problems.push(`${path}: must be [x1, y1, x2, y2] as four finite numbers, got ${got}`);
    return;
  }
  const [x1, y1, x2, y2] = box as number[];
  // An inverted box is always a bug upstream (swapped corners or xywh written as xyxy), never a real object.
  if (x1 > x2 || y1 > y2) {
    problems.push(`${path}: corners must satisfy x1 <= x2 and y1 <= y2, got [${box.join(', ')}]`);
  }
}

function checkInstance(
  instance: unknown,
  path: string,
  frameSize: [number, number] | null,
  problems: string[],
): void {
  if (!isObject(instance)) {
    problems.push(`${path}: must be an object, got ${describe(instance)}`);
    return;
  }
  const { id, classId, label, score, box, mask } = instance;
  if (id !== null && !(typeof id === 'number' && Number.isSafeInteger(id))) {
    problems.push(`${path}.id: must be an integer track id or null, got ${describe(id)}`);
  }
  if (!isIntegerAtLeast(classId, 0)) {
    problems.push(`${path}.classId: must be an integer >= 0, got ${describe(classId)}`);
  }
  if (typeof label !== 'string') {
    problems.push(`${path}.label: must be a string, got ${describe(label)}`);
  }
  if (!isFiniteNumber(score)) {
    problems.push(`${path}.score: must be a finite number, got ${describe(score)}`);
  }
  checkBox(box, `${path}.box`, problems);
  checkMask(mask, `${path}.mask`, frameSize, problems);
  checkExtras(instance, INSTANCE_KEYS, path, problems);
}

function checkInstances(instances: unknown, frameSize: [number, number] | null, problems: string[]): void {
  if (!Array.isArray(instances)) {
    problems.push(`instances: must be an array (empty when nothing was detected), got ${describe(instances)}`);
    return;
  }
  const firstIndexOfId = new Map<number, number>();
  instances.forEach((instance: unknown, index) => {
    const path = `instances[${index}]`;
    checkInstance(instance, path, frameSize, problems);
    if (!isObject(instance)) return;
    // One track is one object; the same id twice in a frame would make consumers merge two objects.
    const { id } = instance;
    if (typeof id === 'number' && Number.isSafeInteger(id)) {
      const first = firstIndexOfId.get(id);
      if (first === undefined) firstIndexOfId.set(id, index);
      else problems.push(`${path}.id: track id ${id} already used by instances[${first}]`);
    }
    if (index > 0) {
      const previous: unknown = instances[index - 1];
      const previousScore = isObject(previous) ? previous.score : undefined;
      if (isFiniteNumber(instance.score) && isFiniteNumber(previousScore) && instance.score > previousScore) {
        problems.push(
          `instances: must be sorted by descending score, but ${path}.score ${instance.score} > ` +
            `instances[${index - 1}].score ${previousScore}`,
        );
      }
    }
  });
}

/**
 * Every way `value` breaks the contract, as readable messages prefixed by the offending path; empty when it
 * is a valid record. Works on parsed JSON and on in-memory records alike.
 */
export function validateFrameRecord(value: unknown): string[] {
  if (!isObject(value)) return [`record: must be a JSON object, got ${describe(value)}`];
  const problems: string[] = [];
  const { schemaVersion, source, frame, pts, width, height, inferred, latencyMs, instances } = value;
  if (schemaVersion !== SCHEMA_VERSION) {
    problems.push(`schemaVersion: must be ${SCHEMA_VERSION}, got ${describe(schemaVersion)}`);
  }
  if (typeof source !== 'string' || source.length === 0) {
    problems.push(`source: must be a non-empty string (the input as given), got ${describe(source)}`);
  }
  if (!isIntegerAtLeast(frame, 0)) {
    problems.push(`frame: must be an integer >= 0, got ${describe(frame)}`);
  }
  // Containers may legitimately start before zero (edit lists, B-frame delay), so only finiteness is required.
  if (!isFiniteNumber(pts)) {
    problems.push(`pts: must be a finite number of seconds, got ${describe(pts)}`);
  }
  const widthOk = isIntegerAtLeast(width, 1);
  if (!widthOk) problems.push(`width: must be an integer >= 1, got ${describe(width)}`);
  const heightOk = isIntegerAtLeast(height, 1);
  if (!heightOk) problems.push(`height: must be an integer >= 1, got ${describe(height)}`);
  if (typeof inferred !== 'boolean') {
    problems.push(`inferred: must be a boolean, got ${describe(inferred)}`);
  }
  // An in-memory record may hold `latencyMs: undefined`; JSON.stringify drops it, so it counts as absent.
  if (latencyMs !== undefined && !(isFiniteNumber(latencyMs) && latencyMs >= 0)) {
    problems.push(`latencyMs: when present, must be a finite number >= 0, got ${describe(latencyMs)}`);
  }
  const frameSize: [number, number] | null = widthOk && heightOk ? [height, width] : null;
  checkInstances(instances, frameSize, problems);
  checkExtras(value, FRAME_KEYS, '', problems);
  return problems;
}

/** Copies `source` with `keys` first in that order (absent or undefined ones skipped), then any extras. */
function ordered(source: object, keys: readonly string[]): JsonObject {
  const from = source as JsonObject;
  const out: JsonObject = {};
  for (const key of keys) {
    if (from[key] !== undefined) out[key] = from[key];
  }
  for (const key of Object.keys(from)) {
    if (!keys.includes(key)) out[key] = from[key];
  }
  return out;
}

/**
 * One JSON line, without the newline (the writer owns line framing and flushing). Throws rather than let
 * JSON.stringify turn NaN or Infinity into null, which a consumer would read as a real value.
 */
export function serializeFrameRecord(record: FrameRecord): string {
  const out = ordered(record, FRAME_KEYS);
  if (Array.isArray(record.instances)) {
    // Assigning over keys that `ordered` already placed keeps them at the contract's position.
    out.instances = record.instances.map((instance) => {
      const item = ordered(instance, INSTANCE_KEYS);
      if (isObject(instance.mask)) item.mask = ordered(instance.mask, MASK_KEYS);
      return item;
    });
  }
  const problems: string[] = [];
  collectJsonProblems(out, 'record', problems, new Set());
  if (problems.length > 0) {
    throw new Error(
      `cannot serialize frame ${describe(record.frame)} of ${describe(record.source)}: ${problems.join('; ')}`,
    );
  }
  return JSON.stringify(out);
}
