/**
 * dashseg's own per-frame JSON lines (shared/contracts/frame-json.md) as evaluation input: predictions from
 * `detect` matched to the images of a COCO file, and clips whose ground truth and predictions are both frame lines.
 */
import { UserError, errorMessage } from '../errors';
import { validateFrameRecord, type FrameRecord, type InstanceRecord } from '../output/frame-record';
import { rleCounts } from '../output/rle';
import type { DetectionResult, GroundTruthAnnotation } from './coco-eval';
import type { EvalCategory, EvalImage } from './coco-dataset';
import type { IdentifiedMask } from '../track/metrics';
import { rleArea, rleToCrop, type RleCrop, type RleRuns, type XywhBox } from './mask-api';

export interface FrameLine {
  /** 1-based line number in the file, for messages. */
  line: number;
  record: FrameRecord;
}

/** Every non-blank line of a JSON Lines file, each checked against the frame contract. */
export function parseFrameLines(text: string, file: string): FrameLine[] {
  const lines: FrameLine[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    const line = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw) as unknown;
    } catch (error) {
      throw new UserError(`${file}:${line}: not valid JSON (${errorMessage(error)})`);
    }
    const problems = validateFrameRecord(value);
    if (problems.length > 0) {
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : '';
      throw new UserError(`${file}:${line}: not a dashseg frame line: ${problems[0]}${more}`);
    }
    lines.push({ line, record: value as FrameRecord });
  });
  return lines;
}

/** x1, y1, x2, y2 → COCO's x, y, w, h. */
export function xyxyToXywh(box: readonly number[]): XywhBox {
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  return [x1, y1, x2 - x1, y2 - y1];
}

/** The mask of a contract instance as runs (the validator has already checked that it decodes and fits the frame). */
export function instanceRuns(instance: InstanceRecord): RleRuns {
  const [height, width] = instance.mask.size;
  return { height, width, counts: rleCounts(instance.mask) };
}

/** Path components, with `\` read as `/` and `.` and empty parts dropped, so `./a//b.jpg` and `a\b.jpg` agree. */
function components(path: string): string[] {
  return path.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
}

/** Whether the shorter of two component lists is the tail of the longer one. */
function tailsAgree(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length);
  if (n === 0) return false;
  for (let i = 1; i <= n; i++) if (a[a.length - i] !== b[b.length - i]) return false;
  return true;
}

/**
 * Pairs `detect` lines with the images of the ground truth. A line's `source` (the image path as given to detect)
 * and an image's `file_name` belong together when the shorter path is the tail of the longer one, compared by whole
 * path components: `/data/coco/val2017/0001.jpg` matches `0001.jpg` and `val2017/0001.jpg`, never `10001.jpg`.
 * Every image needs exactly one line and every line exactly one image; anything else means the two files do not
 * describe the same images (or a path is ambiguous) and is an error naming the first offender, rather than a
 * silently lower AP.
 */
export function matchLinesToImages(lines: readonly FrameLine[], images: readonly EvalImage[], predFile: string): Map<number, FrameLine> {
  const byBaseName = new Map<string, EvalImage[]>();
  for (const image of images) {
    const parts = components(image.fileName);
    const base = parts[parts.length - 1] ?? '';
    byBaseName.set(base, [...(byBaseName.get(base) ?? []), image]);
  }
  const lineOf = new Map<number, FrameLine>();
  for (const entry of lines) {
    const { source, width, height } = entry.record;
    const parts = components(source);
    const candidates = (byBaseName.get(parts[parts.length - 1] ?? '') ?? []).filter((image) => tailsAgree(parts, components(image.fileName)));
    const where = `${predFile}:${entry.line}`;
    if (candidates.length === 0) throw new UserError(`${where}: source ${source} is not an image of the ground truth (no file_name ends like it)`);
    if (candidates.length > 1) {
      throw new UserError(`${where}: source ${source} fits several images (${candidates.map((image) => image.fileName).join(', ')}); give the full path`);
    }
    const image = candidates[0] as EvalImage;
    const earlier = lineOf.get(image.id);
    if (earlier !== undefined) throw new UserError(`${where}: image ${image.fileName} already has predictions on line ${earlier.line}`);
    if (width !== image.width || height !== image.height) {
      throw new UserError(`${where}: ${source} is ${width}x${height} but the ground truth's ${image.fileName} is ${image.width}x${image.height}`);
    }
    lineOf.set(image.id, entry);
  }
  const missing = images.find((image) => !lineOf.has(image.id));
  if (missing !== undefined) {
    const others = images.filter((image) => !lineOf.has(image.id)).length - 1;
    throw new UserError(`${predFile}: no prediction line for image ${missing.fileName}${others > 0 ? ` (nor for ${others} more)` : ''}: is it the detect output for these images?`);
  }
  return lineOf;
}

/** The instances of one line as detections of `imageId`. */
export function lineDetections(record: FrameRecord, imageId: number): DetectionResult[] {
  return record.instances.map((instance) => ({
    imageId,
    categoryId: instance.classId,
    score: instance.score,
    bbox: xyxyToXywh(instance.box),
    segmentation: instanceRuns(instance),
  }));
}

/** A clip's ground truth: one image per frame (id = frame index), objects with their identities. */
export interface ClipGroundTruth {
  images: EvalImage[];
  categories: EvalCategory[];
  annotations: GroundTruthAnnotation[];
  /** Per image (same order): the frame's line, for the identities the tracking metrics need. */
  frames: FrameLine[];
}

/** Whether a ground-truth instance is an ignore region (`"ignore": true`, an object too small to score). */
export function isIgnored(instance: InstanceRecord, scoreIgnored: boolean): boolean {
  return instance.ignore === true && !scoreIgnored;
}

/** A ground-truth line's objects as the tracking metrics take them: identified masks, and the ignore regions apart. */
export function groundTruthMasks(record: FrameRecord, scoreIgnored: boolean): { truth: IdentifiedMask[]; ignored: RleCrop[] } {
  const truth: IdentifiedMask[] = [];
  const ignored: RleCrop[] = [];
  for (const instance of record.instances) {
    const mask = rleToCrop(instanceRuns(instance));
    if (isIgnored(instance, scoreIgnored)) ignored.push(mask);
    else truth.push({ id: instance.id as number, mask });
  }
  return { truth, ignored };
}

/**
 * Ground truth written in the frame contract: each instance is an object (`id` = its identity across frames,
 * never null), `classId` its category, `mask` and `box` its extent. The COCO side gets one annotation per instance,
 * its area being the mask's pixel count (the contract has no separate area); instances marked `"ignore": true`
 * (`dashseg synth` marks objects too small to score) are crowd regions unless `scoreIgnored`.
 */
export function parseClipGroundTruth(lines: readonly FrameLine[], file: string, scoreIgnored = false): ClipGroundTruth {
  if (lines.length === 0) throw new UserError(`${file}: no frame lines`);
  const frames = [...lines].sort((a, b) => a.record.frame - b.record.frame);
  const names = new Map<number, string>();
  const annotations: GroundTruthAnnotation[] = [];
  const images: EvalImage[] = [];
  frames.forEach((entry, i) => {
    const { record } = entry;
    const previous = frames[i - 1];
    if (previous !== undefined && previous.record.frame === record.frame) {
      throw new UserError(`${file}:${entry.line}: frame ${record.frame} is already on line ${previous.line}`);
    }
    images.push({ id: record.frame, fileName: `${record.source}#${record.frame}`, width: record.width, height: record.height });
    record.instances.forEach((instance, k) => {
      if (instance.id === null) throw new UserError(`${file}:${entry.line}: instances[${k}] has no object id (ground truth needs id = the object's identity)`);
      if (instance.ignore !== undefined && typeof instance.ignore !== 'boolean') {
        throw new UserError(`${file}:${entry.line}: instances[${k}].ignore must be true or false`);
      }
      if (!names.has(instance.classId)) names.set(instance.classId, instance.label);
      const segmentation = instanceRuns(instance);
      annotations.push({
        id: annotations.length + 1,
        imageId: record.frame,
        categoryId: instance.classId,
        bbox: xyxyToXywh(instance.box),
        area: rleArea(segmentation),
        iscrowd: isIgnored(instance, scoreIgnored),
        segmentation,
      });
    });
  });
  const categories = [...names].map(([id, name]) => ({ id, name })).sort((a, b) => a.id - b.id);
  return { images, categories, annotations, frames };
}

/**
 * The prediction line of every ground-truth frame, by frame index. Predictions may cover more frames than the
 * ground truth (annotations are often sparse) but never fewer, and must have the ground truth's size.
 */
export function matchClipFrames(gt: ClipGroundTruth, lines: readonly FrameLine[], gtFile: string, predFile: string): Map<number, FrameLine> {
  const byFrame = new Map<number, FrameLine>();
  for (const entry of lines) {
    const earlier = byFrame.get(entry.record.frame);
    if (earlier !== undefined) throw new UserError(`${predFile}:${entry.line}: frame ${entry.record.frame} is already on line ${earlier.line}`);
    byFrame.set(entry.record.frame, entry);
  }
  for (const image of gt.images) {
    const entry = byFrame.get(image.id);
    if (entry === undefined) {
      throw new UserError(`${predFile}: no line for frame ${image.id}, which ${gtFile} annotates: the frames do not line up`);
    }
    const { width, height } = entry.record;
    if (width !== image.width || height !== image.height) {
      throw new UserError(`${predFile}:${entry.line}: frame ${image.id} is ${width}x${height} but the ground truth's is ${image.width}x${image.height}`);
    }
  }
  return byFrame;
}
