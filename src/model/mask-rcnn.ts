/**
 * The twin of torchvision's `GeneralizedRCNN.forward` for Mask R-CNN at inference, one image at a time:
 * transform → backbone → RPN → RoI heads (boxes, then masks) → postprocess back to the original image. Each stage
 * is its own module beside its torchvision twin; this file only wires them, as generalized_rcnn.py does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ResNetBody } from './backbone';
import { FeaturePyramidNetwork, type FeatureMaps } from './fpn';
import { loadModelDirectory, type ModelConfig } from './model-dir';
import { ANCHOR_DEFAULTS, type Size2D } from './ops/anchors';
import { pasteMaskCropsBinary, type MaskCrop } from './ops/paste-masks';
import { RoiHeads, type Detections } from './roi-heads';
import { RPNHead, RPN_DEFAULTS, RegionProposalNetwork } from './rpn';
import type { WeightLookup } from './state-dict';
import { postprocessBoxes, transformImages } from './transform';
import { toFloat32, type RawTensor } from './weights/tensor';

/** An 8-bit image: RGB or RGBA (alpha ignored), row-major. */
export interface RgbImage {
  width: number;
  height: number;
  format: 'rgb' | 'rgba';
  data: Uint8Array | Uint8ClampedArray;
}

export interface Detection {
  /** x1, y1, x2, y2 in the original image's pixels. */
  box: [number, number, number, number];
  score: number;
  classId: number;
  label: string;
  /** The instance's pixels (probability >= 0.5), cropped to its pasted box within the image. */
  mask: MaskCrop<Uint8Array>;
}

/** Tensors made from the checkpoint on demand, all freed once the modules have copied what they keep. */
function weightLookup(tensors: ReadonlyMap<string, RawTensor>): { lookup: WeightLookup; release: () => void } {
  const made = new Map<string, tf.Tensor>();
  return {
    lookup: (name) => {
      const cached = made.get(name);
      if (cached) return cached;
      const raw = tensors.get(name);
      if (!raw) return undefined;
      const tensor = tf.tensor(toFloat32(raw, name), raw.shape, 'float32');
      made.set(name, tensor);
      return tensor;
    },
    release: () => made.forEach((tensor) => tensor.dispose()),
  };
}

/** The image's channel count (3 or 4), once its buffer is checked to hold exactly its pixels. */
export function imageChannels(image: RgbImage): 3 | 4 {
  const channels = image.format === 'rgba' ? 4 : 3;
  if (image.data.length !== image.width * image.height * channels) {
    throw new Error(`image data holds ${image.data.length} bytes, expected ${image.width}x${image.height}x${channels}`);
  }
  return channels;
}

function imageTensor(image: RgbImage): tf.Tensor3D {
  const channels = imageChannels(image);
  return tf.tidy(() => {
    const pixels = tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, channels], 'int32');
    return channels === 4 ? tf.slice(pixels, [0, 0, 0], [image.height, image.width, 3]) : pixels;
  });
}

/**
 * Which detections the caller wants. Each RoI's mask is computed on its own, so leaving the others out before the
 * mask head changes nothing in the masks kept: it only saves the mask head and pasting for detections that would be
 * thrown away.
 */
export interface DetectOptions {
  /** Least score kept (torchvision's own 0.05 applies first). */
  minScore?: number;
  /** Only these class ids are kept. */
  classIds?: readonly number[];
}

export function keepDetections(detections: Detections, options: DetectOptions): Detections {
  const minScore = options.minScore ?? -Infinity;
  const classes = options.classIds ? new Set(options.classIds) : undefined;
  const kept: number[] = [];
  detections.scores.forEach((score, d) => {
    if (score >= minScore && (!classes || classes.has(detections.labels[d] as number))) kept.push(d);
  });
  if (kept.length === detections.scores.length) return detections;
  return {
    boxes: Float32Array.from(kept.flatMap((d) => [...detections.boxes.subarray(4 * d, 4 * d + 4)])),
    scores: Float32Array.from(kept, (d) => detections.scores[d] as number),
    labels: Int32Array.from(kept, (d) => detections.labels[d] as number),
  };
}

/** Milliseconds per stage of one `detect`, for benchmarks: where the time goes. */
export interface StageTimings {
  /** Normalize, resize, pad, ResNet body and FPN. */
  backbone: number;
  rpn: number;
  boxHead: number;
  /** Mask head, and pasting the masks back at image size. */
  maskHead: number;
}

/** A lap timer for `detect`: each call records the time since the previous one under `stage`, if timings are wanted. */
export function stageTimer(timings: StageTimings | undefined): (stage: keyof StageTimings) => void {
  let mark = performance.now();
  return (stage) => {
    const now = performance.now();
    if (timings) timings[stage] = now - mark;
    mark = now;
  };
}

/**
 * Boxes to original pixels with torchvision's per-axis float32 ratios, masks `[D·M·M]` pasted there and thresholded:
 * `GeneralizedRCNNTransform.postprocess` and `paste_masks_in_image`, on the host for both engines.
 */
export function toDetections(detections: Detections, masks: Float32Array, imageSize: Size2D, originalSize: Size2D, labels: readonly string[]): Detection[] {
  const boxes = postprocessBoxes(detections.boxes, imageSize, originalSize);
  const crops = pasteMaskCropsBinary(masks, boxes, originalSize);
  return Array.from(detections.scores, (score, d) => {
    const classId = detections.labels[d] as number;
    return {
      box: [boxes[4 * d], boxes[4 * d + 1], boxes[4 * d + 2], boxes[4 * d + 3]] as [number, number, number, number],
      score,
      classId,
      label: labels[classId] ?? `class ${classId}`,
      mask: crops[d] as MaskCrop<Uint8Array>,
    };
  });
}

/** What the inference stage needs of a Mask R-CNN, whichever engine runs it. */
export interface Detector {
  readonly config: ModelConfig;
  /** Every detection torchvision would return (score > 0.05, at most 100) that `options` keeps, best first. */
  detect(image: RgbImage, timings?: StageTimings, options?: DetectOptions): Promise<Detection[]>;
  /** Engine-side tensors alive now: flat from image to image, or the engine leaks. */
  liveTensors(): number;
  dispose(): void | Promise<void>;
}

export class MaskRCNN implements Detector {
  private readonly body: ResNetBody;
  private readonly fpn: FeaturePyramidNetwork;
  private readonly rpn: RegionProposalNetwork;
  private readonly heads: RoiHeads;
  private disposed = false;

  constructor(
    readonly config: ModelConfig,
    tensors: ReadonlyMap<string, RawTensor>,
  ) {
    if (config.architecture.variant !== 'v1') {
      throw new Error(`Mask R-CNN ${config.architecture.variant} is not supported yet: only v1 heads are implemented`);
    }
    const { lookup, release } = weightLookup(tensors);
    const built: { dispose(): void }[] = [];
    try {
      this.body = new ResNetBody(lookup, { eps: config.frozenBatchNormEps });
      built.push(this.body);
      this.fpn = new FeaturePyramidNetwork(lookup);
      built.push(this.fpn);
      // Built here and handed to the RPN, as FasterRCNN.__init__ does; the RPN then owns it (disposing both is
      // harmless: dispose() is idempotent).
      const rpnHead = new RPNHead(lookup);
      built.push(rpnHead);
      this.rpn = new RegionProposalNetwork(rpnHead, { ...RPN_DEFAULTS, anchors: config.anchors ?? ANCHOR_DEFAULTS });
      built.push(this.rpn);
      this.heads = new RoiHeads(lookup, config.architecture.fpnChannels);
    } catch (error) {
      built.forEach((module) => module.dispose());
      throw error;
    } finally {
      release();
    }
  }

  static fromDirectory(dir: string): MaskRCNN {
    const { config, tensors } = loadModelDirectory(dir);
    return new MaskRCNN(config, tensors);
  }

  /** Every detection torchvision would return (score > 0.05, at most 100) that `options` keeps, best first. */
  async detect(image: RgbImage, timings?: StageTimings, options: DetectOptions = {}): Promise<Detection[]> {
    if (this.disposed) throw new Error('MaskRCNN: used after dispose()');
    const lap = stageTimer(timings);
    const input = imageTensor(image);
    const transformed = transformImages([input], this.config.transform);
    input.dispose();
    const imageSize = transformed.imageSizes[0] as Size2D;
    const paddedSize: Size2D = [transformed.batch.shape[1], transformed.batch.shape[2]];
    let features: FeatureMaps | undefined;
    try {
      const stages = this.body.forward(transformed.batch);
      try {
        features = this.fpn.forward(stages);
      } finally {
        stages.forEach((stage) => stage.dispose());
      }
      // On asynchronous backends a stage's time is only real once its results exist: read one value of each level.
      if (timings) {
        for (const level of Object.values(features)) {
          const corner = tf.slice(level, [0, 0, 0, 0], [1, 1, 1, 1]);
          await corner.data();
          corner.dispose();
        }
      }
      lap('backbone');
      const proposals = await this.rpn.propose(features, paddedSize, imageSize);
      lap('rpn');
      const detections = keepDetections(await this.heads.detect(features, proposals, imageSize), options);
      lap('boxHead');
      const masks = await this.heads.masks(features, detections, imageSize);
      const result = toDetections(detections, masks, imageSize, [image.height, image.width], this.config.labels);
      lap('maskHead');
      return result;
    } finally {
      transformed.batch.dispose();
      if (features) Object.values(features).forEach((level) => level.dispose());
    }
  }

  liveTensors(): number {
    return tf.memory().numTensors;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.body.dispose();
    this.fpn.dispose();
    this.rpn.dispose();
    this.heads.dispose();
  }
}
