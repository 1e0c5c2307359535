/**
 * `dashseg eval` without the command line: read ground truth and predictions, score them with CocoEval (box and/or
 * mask AP) and, for clips, with the tracking metrics of src/track/metrics.ts.
 *
 * Two modes, told apart by the ground-truth file:
 * - still images: a COCO instances JSON document (an object with "images"); predictions are `dashseg detect` lines
 *   (or a COCO results list), matched to images by file name (see matchLinesToImages);
 * - a clip: frame JSON lines whose instances are the ground-truth objects (id = identity); predictions are the
 *   `dashseg annotate --json` lines of the same clip, matched by frame index. Each annotated frame is one COCO image.
 */
import { readFileSync } from 'node:fs';
import { UserError, errorMessage } from '../errors';
import { TrackingEvaluator, type IdentifiedMask, type TrackingMetrics } from '../track/metrics';
import { cocoEvaluate, type DetectionResult, type GroundTruthAnnotation, type IouType, type SummaryStats } from './coco-eval';
import { isObject, parseCocoInstances, parseCocoResults, parseJsonText, type EvalCategory, type EvalImage } from './coco-dataset';
import { groundTruthMasks, lineDetections, matchClipFrames, matchLinesToImages, parseClipGroundTruth, parseFrameLines, instanceRuns, type FrameLine } from './frame-lines';
import { rleToCrop } from './mask-api';

/** Mask IoU at which a prediction and a ground-truth object are the same object in a frame (as MOTS). */
export const TRACKING_IOU = 0.5;

export interface EvalFilesOptions {
  gt: string;
  pred: string;
  iouTypes: readonly IouType[];
  /** Score the objects the ground truth marks `ignore` (too small to judge) like any other, instead of ignoring them. */
  scoreIgnored?: boolean;
}

export interface CategoryScore {
  id: number;
  name: string;
  /** Ground-truth objects of the category that are not crowd regions. */
  groundTruths: number;
  detections: number;
  /** -1 when the category has no ground truth, as pycocotools. */
  AP: number;
  AP50: number;
}

export interface CocoScores {
  stats: SummaryStats;
  perCategory: CategoryScore[];
}

export interface EvalReport {
  mode: 'images' | 'clip';
  gt: string;
  pred: string;
  images: number;
  categories: EvalCategory[];
  /** Ground-truth objects scored: crowd and ignore regions aside. */
  groundTruths: number;
  /** Crowd and ignore regions: detections on them count neither way. */
  ignoreRegions: number;
  detections: number;
  /** Predictions of classes the ground truth has no category for: left out, as pycocotools leaves them out. */
  ignoredDetections: number;
  coco: Partial<Record<IouType, CocoScores>>;
  /** Clips only: class-agnostic tracking metrics at mask IoU >= TRACKING_IOU. */
  tracking?: TrackingMetrics;
}

interface Loaded {
  mode: 'images' | 'clip';
  images: EvalImage[];
  categories: EvalCategory[];
  annotations: GroundTruthAnnotation[];
  detections: DetectionResult[];
  /** Clips: per ground-truth frame, its line and the prediction line of the same frame. */
  clip?: { gt: FrameLine; pred: FrameLine }[];
}

/** A text file, or a one-line user error saying why it cannot be read. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`);
    if (code === 'EISDIR') throw new UserError(`${file}: is a directory, not a file`);
    throw new UserError(`${file}: cannot read (${errorMessage(error)})`);
  }
}

/**
 * The ground truth decides the mode: one JSON document with "images" is a COCO file; anything else that starts
 * like JSON is read as frame lines (a one-line clip also parses as a single document, hence the "images" test).
 */
function load(options: EvalFilesOptions): Loaded {
  const masks = options.iouTypes.includes('segm');
  const gtText = readText(options.gt);
  const predText = readText(options.pred);
  let document: unknown;
  try {
    document = JSON.parse(gtText) as unknown;
  } catch {
    document = undefined;
  }
  if (isObject(document) && 'images' in document) {
    const gt = parseCocoInstances(document, options.gt, masks, options.scoreIgnored);
    let detections: DetectionResult[];
    if (predText.trimStart().startsWith('[')) {
      const results = parseJsonText(predText, options.pred);
      detections = parseCocoResults(results as unknown[], options.pred, gt.images, masks);
    } else {
      const lines = parseFrameLines(predText, options.pred);
      const lineOf = matchLinesToImages(lines, gt.images, options.pred);
      detections = gt.images.flatMap((image) => lineDetections((lineOf.get(image.id) as FrameLine).record, image.id));
    }
    return { mode: 'images', images: gt.images, categories: gt.categories, annotations: gt.annotations, detections };
  }
  // A lone JSON document that is not a frame line either (an object without "images" nor "schemaVersion", a list)
  // would otherwise be reported as a broken frame line, which misleads whoever meant a COCO file.
  const singleDocument = document !== undefined && !(isObject(document) && 'schemaVersion' in document);
  if (singleDocument || !gtText.trimStart().startsWith('{')) {
    throw new UserError(`${options.gt}: neither a COCO instances file (a JSON object with "images") nor frame JSON lines`);
  }
  const gt = parseClipGroundTruth(parseFrameLines(gtText, options.gt), options.gt, options.scoreIgnored);
  const predLines = matchClipFrames(gt, parseFrameLines(predText, options.pred), options.gt, options.pred);
  const clip = gt.frames.map((frame) => ({ gt: frame, pred: predLines.get(frame.record.frame) as FrameLine }));
  const detections = clip.flatMap(({ pred }) => lineDetections(pred.record, pred.record.frame));
  return { mode: 'clip', images: gt.images, categories: gt.categories, annotations: gt.annotations, detections, clip };
}

/**
 * Tracking metrics over the annotated frames, class-agnostic: any prediction may match any ground-truth object,
 * whatever the two classes (the tracker's identities are what is being judged; AP judges the classes). Predictions
 * of classes the ground truth never annotates are left out, as they are for AP, so an unlabelled class does not
 * count as false positives.
 */
function trackingMetrics(clip: NonNullable<Loaded['clip']>, categories: readonly EvalCategory[], predFile: string, scoreIgnored: boolean): TrackingMetrics {
  const known = new Set(categories.map((category) => category.id));
  const evaluator = new TrackingEvaluator({ iouThreshold: TRACKING_IOU });
  for (const { gt, pred } of clip) {
    const { truth, ignored } = groundTruthMasks(gt.record, scoreIgnored);
    const hypotheses: IdentifiedMask[] = [];
    pred.record.instances.forEach((instance, k) => {
      if (!known.has(instance.classId)) return;
      if (instance.id === null) {
        throw new UserError(`${predFile}:${pred.line}: instances[${k}] has no track id: tracking metrics need \`dashseg annotate --json\` output`);
      }
      hypotheses.push({ id: instance.id, mask: rleToCrop(instanceRuns(instance)) });
    });
    evaluator.addFrame(truth, hypotheses, ignored);
  }
  return evaluator.summary();
}

export function evaluateFiles(options: EvalFilesOptions): EvalReport {
  const loaded = load(options);
  const known = new Set(loaded.categories.map((category) => category.id));
  const detections = loaded.detections.filter((detection) => known.has(detection.categoryId));
  const imageIds = loaded.images.map((image) => image.id);
  const categoryIds = loaded.categories.map((category) => category.id);
  const coco: Partial<Record<IouType, CocoScores>> = {};
  for (const iouType of options.iouTypes) {
    const result = cocoEvaluate(loaded.annotations, detections, { iouType, imageIds, categoryIds });
    coco[iouType] = {
      stats: result.stats,
      perCategory: loaded.categories
        .map((category) => {
          const scores = result.perCategory.find((entry) => entry.categoryId === category.id);
          return {
            id: category.id,
            name: category.name,
            groundTruths: loaded.annotations.filter((a) => a.categoryId === category.id && !a.iscrowd).length,
            detections: detections.filter((d) => d.categoryId === category.id).length,
            AP: scores?.AP ?? -1,
            AP50: scores?.AP50 ?? -1,
          };
        })
        .sort((a, b) => a.id - b.id),
    };
  }
  return {
    mode: loaded.mode,
    gt: options.gt,
    pred: options.pred,
    images: loaded.images.length,
    categories: [...loaded.categories].sort((a, b) => a.id - b.id),
    groundTruths: loaded.annotations.filter((a) => !a.iscrowd).length,
    ignoreRegions: loaded.annotations.filter((a) => a.iscrowd).length,
    detections: detections.length,
    ignoredDetections: loaded.detections.length - detections.length,
    coco,
    ...(loaded.clip ? { tracking: trackingMetrics(loaded.clip, loaded.categories, options.pred, options.scoreIgnored ?? false) } : {}),
  };
}
