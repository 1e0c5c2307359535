/**
 * Reading a COCO instances file (images, annotations, categories) into what CocoEval takes, with the conversions
 * pycocotools' COCO.annToRLE makes: compressed RLE as is, uncompressed RLE compressed, polygons rasterised and the
 * parts of one object merged. Everything a user can get wrong is a one-line UserError naming the file and the field.
 */
import { UserError, errorMessage } from '../errors';
import { rleCounts } from '../output/rle';
import type { DetectionResult, GroundTruthAnnotation } from './coco-eval';
import { rleFrBbox, rleFrPoly, rleMerge, rleToBbox, type RleRuns, type XywhBox } from './mask-api';

export interface EvalImage {
  id: number;
  /** The file name as the annotation file gives it (COCO: usually a bare name such as 000000397133.jpg). */
  fileName: string;
  width: number;
  height: number;
}

export interface EvalCategory {
  id: number;
  name: string;
}

export interface CocoInstances {
  images: EvalImage[];
  categories: EvalCategory[];
  annotations: GroundTruthAnnotation[];
}

type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Short rendering of a bad value for a one-line message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (isObject(value)) return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** Reads a whole JSON document; both failures a user can cause (no file, not JSON) become one line. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UserError(`${file}: not valid JSON (${errorMessage(error)})`);
  }
}

function integer(value: unknown, where: string, file: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new UserError(`${file}: ${where} must be an integer, got ${describeValue(value)}`);
  return value;
}

function xywh(value: unknown, where: string, file: string): XywhBox {
  if (!Array.isArray(value) || value.length !== 4 || !value.every(isFiniteNumber)) {
    throw new UserError(`${file}: ${where} must be [x, y, width, height] as four numbers, got ${describeValue(value)}`);
  }
  return value as XywhBox;
}

/**
 * A segmentation in any of COCO's three forms, as runs of the image's size (COCO.annToRLE). The RLE forms must
 * carry the image's own [height, width]: a mask of another size is a mask of another image.
 */
export function segmentationRuns(value: unknown, image: EvalImage, where: string, file: string): RleRuns {
  const { height, width } = image;
  const problem = (what: string): UserError => new UserError(`${file}: ${where} ${what}`);
  if (Array.isArray(value)) {
    if (value.length === 0) throw problem('is an empty list of polygons');
    const parts = value.map((part: unknown, i) => {
      if (!Array.isArray(part) || !part.every(isFiniteNumber)) throw problem(`[${i}] must be a polygon [x0, y0, x1, y1, ...] of numbers`);
      return part as number[];
    });
    // frPyObjects reads the list as polygons when its first entry has more than 4 numbers. With exactly 4 it meant
    // boxes [x, y, w, h] (pycocotools 2.0.11 now fails on a plain list there); a 2-point polygon is no shape anyway.
    const first = (parts[0] as number[]).length;
    if (first === 4) return rleMerge(parts.map((box) => rleFrBbox(box.slice(0, 4) as XywhBox, height, width)));
    if (first < 4) throw problem(`[0] has ${first} numbers: a polygon needs at least 3 points (6 numbers)`);
    return rleMerge(parts.map((polygon) => rleFrPoly(polygon, height, width)));
  }
  if (!isObject(value)) throw problem(`must be an RLE {size, counts} or a list of polygons, got ${describeValue(value)}`);
  const { size, counts } = value;
  if (!Array.isArray(size) || size.length !== 2 || size[0] !== height || size[1] !== width) {
    throw problem(`.size must be the image's [height, width] = [${height}, ${width}], got ${Array.isArray(size) ? JSON.stringify(size) : describeValue(size)}`);
  }
  if (typeof counts === 'string') {
    try {
      return { height, width, counts: rleCounts({ size: [height, width], counts }) };
    } catch (error) {
      throw problem(`.counts: ${errorMessage(error)}`);
    }
  }
  if (Array.isArray(counts)) {
    let total = 0;
    for (const run of counts) {
      if (typeof run !== 'number' || !Number.isSafeInteger(run) || run < 0) throw problem(`.counts must hold whole numbers >= 0, got ${describeValue(run)}`);
      total += run;
    }
    if (total !== height * width) throw problem(`.counts: runs sum to ${total} pixels but the image has ${height * width}`);
    return { height, width, counts: counts as number[] };
  }
  throw problem(`.counts must be a compressed RLE string or a list of runs, got ${describeValue(counts)}`);
}

/**
 * A COCO instances document. `masks` says whether segmentations are needed (segm evaluation); without it they are
 * not rasterised at all, and an annotation may lack one.
 */
export function parseCocoInstances(value: unknown, file: string, masks: boolean, scoreIgnored = false): CocoInstances {
  if (!isObject(value) || !Array.isArray(value.images)) throw new UserError(`${file}: not a COCO instances file (no "images" list)`);
  if (!Array.isArray(value.annotations)) throw new UserError(`${file}: no "annotations" list`);
  if (!Array.isArray(value.categories)) throw new UserError(`${file}: no "categories" list`);

  const images: EvalImage[] = [];
  const imageById = new Map<number, EvalImage>();
  const imageByName = new Map<string, EvalImage>();
  value.images.forEach((item: unknown, i) => {
    const where = `images[${i}]`;
    if (!isObject(item)) throw new UserError(`${file}: ${where} must be an object`);
    const id = integer(item.id, `${where}.id`, file);
    if (typeof item.file_name !== 'string' || item.file_name === '') throw new UserError(`${file}: ${where}.file_name must be a non-empty string`);
    const width = integer(item.width, `${where}.width`, file);
    const height = integer(item.height, `${where}.height`, file);
    if (width < 1 || height < 1) throw new UserError(`${file}: ${where} must have width and height >= 1, got ${width}x${height}`);
    if (imageById.has(id)) throw new UserError(`${file}: ${where}.id ${id} is used by another image too`);
    if (imageByName.has(item.file_name)) throw new UserError(`${file}: ${where}.file_name ${item.file_name} is listed twice`);
    const image = { id, fileName: item.file_name, width, height };
    images.push(image);
    imageById.set(id, image);
    imageByName.set(image.fileName, image);
  });

  const categories: EvalCategory[] = [];
  const categoryIds = new Set<number>();
  value.categories.forEach((item: unknown, i) => {
    const where = `categories[${i}]`;
    if (!isObject(item)) throw new UserError(`${file}: ${where} must be an object`);
    const id = integer(item.id, `${where}.id`, file);
    if (categoryIds.has(id)) throw new UserError(`${file}: ${where}.id ${id} is used by another category too`);
    categoryIds.add(id);
    categories.push({ id, name: typeof item.name === 'string' ? item.name : String(id) });
  });

  const annotations = value.annotations.map((item: unknown, i): GroundTruthAnnotation => {
    const where = `annotations[${i}]`;
    if (!isObject(item)) throw new UserError(`${file}: ${where} must be an object`);
    const id = integer(item.id, `${where}.id`, file);
    const imageId = integer(item.image_id, `${where}.image_id`, file);
    const image = imageById.get(imageId);
    if (image === undefined) throw new UserError(`${file}: ${where}.image_id ${imageId} is not in "images"`);
    const categoryId = integer(item.category_id, `${where}.category_id`, file);
    if (!categoryIds.has(categoryId)) throw new UserError(`${file}: ${where}.category_id ${categoryId} is not in "categories" (unknown category)`);
    const bbox = xywh(item.bbox, `${where}.bbox`, file);
    const crowd = item.iscrowd === undefined ? false : item.iscrowd === 1 || item.iscrowd === true;
    if (item.iscrowd !== undefined && !crowd && item.iscrowd !== 0 && item.iscrowd !== false) {
      throw new UserError(`${file}: ${where}.iscrowd must be 0 or 1, got ${describeValue(item.iscrowd)}`);
    }
    // Not a COCO field: `dashseg synth` marks one object too small to score with it (and iscrowd 1), so that
    // --score-ignored can count exactly those as objects again while real crowds stay crowds.
    if (item.ignore !== undefined && typeof item.ignore !== 'boolean') {
      throw new UserError(`${file}: ${where}.ignore must be true or false, got ${describeValue(item.ignore)}`);
    }
    const iscrowd = item.ignore === true ? !scoreIgnored : crowd;
    let segmentation: RleRuns | undefined;
    if (masks) {
      if (item.segmentation === undefined) throw new UserError(`${file}: ${where} has no segmentation (needed for mask AP; use --iou-type bbox)`);
      segmentation = segmentationRuns(item.segmentation, image, `${where}.segmentation`, file);
    }
    // COCO's area is the file's own field (for polygons, the polygon's area), and it alone decides small/medium/large.
    if (!isFiniteNumber(item.area) || item.area < 0) throw new UserError(`${file}: ${where}.area must be a number >= 0, got ${describeValue(item.area)}`);
    return { id, imageId, categoryId, bbox, area: item.area, iscrowd, ...(segmentation ? { segmentation } : {}) };
  });
  return { images, categories, annotations };
}

/**
 * A COCO results list ([{image_id, category_id, score, bbox, segmentation}], what detectron2 and torchvision
 * write), accepted as --pred beside dashseg's own JSON lines. Results for images not in the ground truth are an
 * error, as in pycocotools' loadRes.
 */
export function parseCocoResults(value: unknown[], file: string, images: readonly EvalImage[], masks: boolean): DetectionResult[] {
  const imageById = new Map(images.map((image) => [image.id, image]));
  return value.map((item: unknown, i): DetectionResult => {
    const where = `[${i}]`;
    if (!isObject(item)) throw new UserError(`${file}: ${where} must be an object`);
    const imageId = integer(item.image_id, `${where}.image_id`, file);
    const image = imageById.get(imageId);
    if (image === undefined) throw new UserError(`${file}: ${where}.image_id ${imageId} is not an image of the ground truth`);
    const categoryId = integer(item.category_id, `${where}.category_id`, file);
    if (!isFiniteNumber(item.score)) throw new UserError(`${file}: ${where}.score must be a number, got ${describeValue(item.score)}`);
    let segmentation: RleRuns | undefined;
    if (item.segmentation !== undefined) segmentation = segmentationRuns(item.segmentation, image, `${where}.segmentation`, file);
    else if (masks) throw new UserError(`${file}: ${where} has no segmentation (needed for mask AP; use --iou-type bbox)`);
    // Without a bbox (segmentation-only results), pycocotools takes the mask's bounding box; so do we (below).
    const bbox = item.bbox === undefined && segmentation ? rleToBbox(segmentation) : xywh(item.bbox, `${where}.bbox`, file);
    return { imageId, categoryId, score: item.score, bbox, ...(segmentation ? { segmentation } : {}) };
  });
}
