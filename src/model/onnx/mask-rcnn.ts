/**
 * Mask R-CNN on ONNX Runtime: the same model as `../mask-rcnn.ts`, from the same model directory, with the
 * convolutions and RoIAlign in three ONNX graphs written from the state dict in TypeScript (graphs.ts) and the
 * control flow between them (anchors, NMS, postprocessing, mask pasting) on the host, in the functions the TF.js
 * engine uses too. The graphs are cached on disk by the weights' hash (cache.ts), so a second start skips writing
 * them.
 *
 *   features graph  image → transform → ResNet body → FPN → RPN head, per-level top-k      (graphs.ts)
 *   host            anchors, decode, sigmoid, clip, NMS → proposals                         (rpn.ts)
 *   box graph       FPN levels + proposals → RoIAlign 7 → TwoMLPHead → scores, deltas
 *   host            decode, postprocess_detections, the caller's score and class filter     (roi-heads.ts)
 *   mask graph      FPN levels + detections → RoIAlign 14 → mask head → own-class sigmoid
 *   host            boxes to original pixels, paste_masks_in_image                          (../mask-rcnn.ts)
 */
import { ANCHOR_DEFAULTS, gridAnchors, type Size2D } from '../ops/anchors';
import { BOX_CODER_DEFAULTS, decodeBoxesOnHost } from '../ops/box-coder';
import { type ModelConfig, loadModelDirectory } from '../model-dir';
import {
  type Detection,
  type DetectOptions,
  type Detector,
  type RgbImage,
  type StageTimings,
  imageChannels,
  keepDetections,
  stageTimer,
  toDetections,
} from '../mask-rcnn';
import { ROI_HEADS_DEFAULTS, postprocessDetections, type Detections } from '../roi-heads';
import { RPN_DEFAULTS, filterProposals, type LevelProposals } from '../rpn';
import { resizedSize, roundUp } from '../transform';
import type { RawTensor } from '../weights/tensor';
import { cachedGraphs } from './cache';
import { FEATURE_LEVELS } from './graphs';
import { POOLED_LEVELS } from './roi-heads';
import { type PoolingInput, preparePooling, unpermuteRows } from './poolers';
import { type OnnxRuntime, type OnnxSessionOptions, type OrtSession, type OrtTensor, createSession } from './runtime';

export interface OnnxMaskRcnnOptions extends OnnxSessionOptions {
  /** Where written graphs are kept; no caching when absent. */
  cacheDir?: string;
}

type Feeds = Record<string, OrtTensor>;

export class OnnxMaskRCNN implements Detector {
  /** Anchors of the latest padded size: frames of a video all have the same, so they are made once. */
  private anchors: { key: string; levels: Float32Array[] } | undefined;
  private held = 0;
  private disposed = false;

  private constructor(
    readonly config: ModelConfig,
    private readonly ort: OnnxRuntime,
    private readonly features: OrtSession,
    private readonly boxes: OrtSession,
    private readonly masks: OrtSession,
  ) {}

  static async create(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>, ort: OnnxRuntime, options: OnnxMaskRcnnOptions): Promise<OnnxMaskRCNN> {
    if (config.architecture.variant !== 'v1') {
      throw new Error(`Mask R-CNN ${config.architecture.variant} is not supported yet: only v1 heads are implemented`);
    }
    const graphs = cachedGraphs(config, tensors, options.cacheDir);
    const sessions: OrtSession[] = [];
    try {
      for (const graph of [graphs.features, graphs.boxes, graphs.masks]) sessions.push(await createSession(ort, graph, options));
    } catch (error) {
      await Promise.all(sessions.map((session) => session.release()));
      throw error;
    }
    const [features, boxes, masks] = sessions as [OrtSession, OrtSession, OrtSession];
    return new OnnxMaskRCNN(config, ort, features, boxes, masks);
  }

  static async fromDirectory(dir: string, ort: OnnxRuntime, options: OnnxMaskRcnnOptions): Promise<OnnxMaskRCNN> {
    const { config, tensors } = loadModelDirectory(dir);
    return OnnxMaskRCNN.create(config, tensors, ort, options);
  }

  async detect(image: RgbImage, timings?: StageTimings, options: DetectOptions = {}): Promise<Detection[]> {
    if (this.disposed) throw new Error('OnnxMaskRCNN: used after dispose()');
    const lap = stageTimer(timings);
    const channels = imageChannels(image);
    const { transform } = this.config;
    const imageSize = resizedSize(image.height, image.width, transform.minSize, transform.maxSize);
    const paddedSize: Size2D = [roundUp(imageSize[0], transform.sizeDivisible), roundUp(imageSize[1], transform.sizeDivisible)];
    const pixels = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    const outputs = await this.run(this.features, {
      image: new this.ort.Tensor('uint8', pixels, [image.height, image.width, channels]),
      resized_size: this.int64([1, 3, imageSize[0], imageSize[1]]),
      pads: this.int64([0, 0, 0, 0, 0, 0, paddedSize[0] - imageSize[0], paddedSize[1] - imageSize[1]]),
    });
    try {
      const levels: Feeds = {};
      for (let level = 0; level < POOLED_LEVELS; level++) levels[`features.${level}`] = outputs[`features.${level}`] as OrtTensor;
      lap('backbone');
      const proposals = filterProposals(this.levelProposals(outputs, paddedSize), imageSize, { ...RPN_DEFAULTS, anchors: this.config.anchors ?? ANCHOR_DEFAULTS });
      lap('rpn');
      const featureHeights = Array.from({ length: POOLED_LEVELS }, (_, level) => (levels[`features.${level}`] as OrtTensor).dims[2] as number);
      const detections = keepDetections(await this.detectBoxes(levels, proposals, featureHeights, imageSize), options);
      lap('boxHead');
      const masks = await this.maskProbabilities(levels, detections, featureHeights, imageSize);
      const result = toDetections(detections, masks, imageSize, [image.height, image.width], this.config.labels);
      lap('maskHead');
      return result;
    } finally {
      this.release(outputs);
    }
  }

  /** Each level's top-k anchors, decoded against the anchors of this padded size. */
  private levelProposals(outputs: Feeds, paddedSize: Size2D): LevelProposals[] {
    const sizes = (outputs.feature_sizes as OrtTensor).data as BigInt64Array;
    const featureSizes = Array.from({ length: FEATURE_LEVELS }, (_, level): Size2D => [Number(sizes[2 * level]), Number(sizes[2 * level + 1])]);
    const key = `${paddedSize.join('x')}:${featureSizes.join(';')}`;
    if (this.anchors?.key !== key) this.anchors = { key, levels: gridAnchors(featureSizes, paddedSize, this.config.anchors ?? ANCHOR_DEFAULTS) };
    const anchors = this.anchors.levels;
    return featureSizes.map((_, level) => {
      const logits = (outputs[`rpn.logits.${level}`] as OrtTensor).data as Float32Array;
      const indices = (outputs[`rpn.indices.${level}`] as OrtTensor).data as BigInt64Array;
      const deltas = (outputs[`rpn.deltas.${level}`] as OrtTensor).data as Float32Array;
      const all = anchors[level] as Float32Array;
      const reference = new Float32Array(indices.length * 4);
      indices.forEach((index, i) => reference.set(all.subarray(Number(index) * 4, Number(index) * 4 + 4), 4 * i));
      return { boxes: decodeBoxesOnHost(deltas, reference, BOX_CODER_DEFAULTS.rpnWeights), logits, level };
    });
  }

  private async detectBoxes(levels: Feeds, proposals: Float32Array, featureHeights: number[], imageSize: Size2D): Promise<Detections> {
    const count = proposals.length / 4;
    const numClasses = this.config.architecture.numClasses;
    if (count === 0) return { boxes: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0) };
    const pooling = preparePooling(proposals, featureHeights, imageSize[0]);
    const outputs = await this.run(this.boxes, { ...levels, ...this.poolingFeeds(pooling) });
    try {
      const scores = unpermuteRows((outputs.class_scores as OrtTensor).data as Float32Array, pooling.order, numClasses);
      const deltas = unpermuteRows((outputs.box_deltas as OrtTensor).data as Float32Array, pooling.order, 4 * numClasses);
      const boxes = decodeBoxesOnHost(deltas, proposals, BOX_CODER_DEFAULTS.roiHeadsWeights);
      return postprocessDetections(boxes, scores, count, numClasses, imageSize, ROI_HEADS_DEFAULTS);
    } finally {
      this.release(outputs);
    }
  }

  /** Each detection's `M x M` probabilities for its own class, `[D·M·M]` in the detections' order. */
  private async maskProbabilities(levels: Feeds, detections: Detections, featureHeights: number[], imageSize: Size2D): Promise<Float32Array> {
    const count = detections.scores.length;
    if (count === 0) return new Float32Array(0);
    const pooling = preparePooling(detections.boxes, featureHeights, imageSize[0]);
    const numClasses = this.config.architecture.numClasses;
    const rows = Array.from(pooling.order, (d, j) => j * numClasses + (detections.labels[d] as number));
    const outputs = await this.run(this.masks, { ...levels, ...this.poolingFeeds(pooling), rows: this.int64(rows) });
    try {
      const size = 2 * ROI_HEADS_DEFAULTS.maskPoolSize;
      return unpermuteRows((outputs.masks as OrtTensor).data as Float32Array, pooling.order, size * size);
    } finally {
      this.release(outputs);
    }
  }

  private poolingFeeds(pooling: PoolingInput): Feeds {
    return {
      rois: new this.ort.Tensor('float32', pooling.rois, [pooling.rois.length / 4, 4]),
      level_bounds: new this.ort.Tensor('int64', pooling.levelBounds, [pooling.levelBounds.length]),
      pads: new this.ort.Tensor('int64', pooling.pads, [8]),
    };
  }

  private int64(values: readonly number[]): OrtTensor {
    return new this.ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), [values.length]);
  }

  private async run(session: OrtSession, feeds: Feeds): Promise<Feeds> {
    const outputs = await session.run(feeds);
    this.held += Object.keys(outputs).length;
    return outputs;
  }

  private release(outputs: Feeds): void {
    for (const tensor of Object.values(outputs)) tensor.dispose();
    this.held -= Object.keys(outputs).length;
  }

  /** Output tensors of the sessions not released yet: zero between images. */
  liveTensors(): number {
    return this.held;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([this.features.release(), this.boxes.release(), this.masks.release()]);
  }
}
