/**
 * dashseg as a library: every stage is an RxJS source, operator or sink with typed input and output, and the
 * pipelines compose them. The CLI (src/cli) only parses flags and calls a pipeline. Exports follow a frame's way:
 * video in, model, inference, tracking, drawing, video out and JSON; then the pipelines, settings, evaluation and
 * synthetic scenes.
 */
export { UserError } from './errors';

// video/: decode (ffmpeg -> pooled frames), live sources, probing; encode at the end of the way.
export { resolveBinary, binaryVersion, type ResolvedBinary } from './video/binaries';
export { probe, type VideoInfo, type Rational } from './video/probe';
export { decode, type DecodeOptions, type DecodedFrame } from './video/decode';
export { encodeVideo, checkOutputPath, X264_PRESETS, type EncodeOptions, type X264Preset, type AudioSource } from './video/encode';
export { FramePool } from './video/frame-pool';
export { pooledFrame, type LendableFrame } from './video/frame';
export { i420ToRgb } from './video/color';
export { liveFrames, isLiveSource, type LiveFrame, type LiveEvent, type LiveSourceOptions } from './video/live';
export { readStillImage } from './video/still-image';
export type { Frame } from './video/frame';

// model/: Mask R-CNN (torchvision's twin), its backends and weights.
export { selectBackend, describeBackend, parseBackendName, type BackendName, type BackendChoice } from './model/backend';
export { MaskRCNN, type Detection, type DetectOptions as ModelDetectOptions, type RgbImage, type StageTimings } from './model/mask-rcnn';
export { inferArchitecture, canonicalStateDict, type MaskRcnnArchitecture } from './model/architecture';
export {
  convertCheckpoint,
  loadModelDirectory,
  readCheckpoint,
  describeModel,
  describeCheckpoint,
  readModelConfig,
  classIdsFor,
  type ModelConfig,
  type ModelDirectory,
  type ConvertOptions,
} from './model/model-dir';
export { pullModel, modelCacheDir } from './model/pull';
export { chooseModel, type ModelChoice } from './model/model-choice';
export { COCO_CATEGORIES } from './model/labels';
export { readTorchCheckpoint } from './model/weights/torch-checkpoint';
export { readSafetensors, writeSafetensors } from './model/weights/safetensors';
export type { RawTensor, DType } from './model/weights/tensor';

// infer/: which frames the model runs on, and the worker threads that run it.
export { inferFrames, frameSelector, type InferredFrame, type ScheduleOptions, type FrameSelection } from './infer/schedule';
export { InferencePool, type InferencePoolOptions } from './infer/pool';
export { resourceSplit, type ResourceSplit, type Workload } from './infer/split';
export { InferenceWorker, type InferenceResult, type InferenceWorkerOptions } from './infer/worker';

// track/: instances across frames by mask IoU; every frame leaves as an AnnotatedFrame.
export { trackFrames } from './track/track-frames';
export { unannotated, type AnnotatedFrame, type FrameInstance } from './track/annotated-frame';
export { MaskTracker, TRACKER_DEFAULTS, type TrackerConfig, type TrackInput, type TrackedInstance, type TrackDetection } from './track/tracker';
export { trackInstances, type TrackOutput } from './track/operator';
export { evaluateTracking, TrackingEvaluator, type TrackingMetrics } from './track/metrics';
export { solveAssignment } from './track/hungarian';

// render/: masks, boxes, labels and the HUD onto the frame.
export { InstancePainter, paletteColor, drawableInstance, renderInstances, PALETTE, type DrawableInstance, type InstanceStyle } from './render/instances';
export { renderHud, HudPainter, formatTimestamp, type HudOptions } from './render/hud';
export { blendOver, type RgbaImage, type FramePixels } from './render/blend';

// output/: the per-frame JSON Lines contract, masks as COCO RLE.
export { writeJsonLines, frameRecord, instanceRecord, JsonLinesWriter, type JsonLinesOptions } from './output/jsonl';
export {
  SCHEMA_VERSION,
  validateFrameRecord,
  serializeFrameRecord,
  type FrameRecord,
  type InstanceRecord,
} from './output/frame-record';
export { encodeMask, encodeMaskCrop, decodeMask, encodeCounts, decodeCounts, rleArea, type CocoRle } from './output/rle';

// stats/: what a run measures of itself.
export { PipelineStats, LatencyHistogram } from './stats/pipeline-stats';
export { Throughput } from './stats/throughput';

// pipelines/: the stages composed.
export {
  annotate,
  annotateFrames,
  segmentFrames,
  startWorkers,
  type AnnotateOptions,
  type AnnotateSummary,
} from '../pipelines/annotate';
export { stream, streamFrames, type StreamOptions, type StreamSummary } from '../pipelines/stream';
export { detect, type DetectOptions } from '../pipelines/detect';
export { runToEnd, type RunTotals } from '../pipelines/run';
export { whenFirst } from '../pipelines/when-first';

// settings/: the config, and which model runs how (request over config over the model's own operating point).
export { loadConfig, type DashsegConfig } from './settings/config';
export { modelSelection, type ModelRequest, type ModelRunOptions, type ModelSelection } from './settings/model-selection';
export { operatingPoint, GENERIC_OPERATING_POINT, type ResolvedOperatingPoint } from './settings/operating-point';

export { evaluateFiles, TRACKING_IOU, type EvalReport, type EvalFilesOptions, type CocoScores } from './eval/evaluate';
export { CocoEval, cocoEvaluate, type IouType, type GroundTruthAnnotation, type DetectionResult } from './eval/coco-eval';

export { generateScene, clipFrames, synthFrames, writeClip, writeStillsDataset, SYNTH_CLASSES } from './synth';
