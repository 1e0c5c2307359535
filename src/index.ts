/**
 * dashseg as a library: every stage is an RxJS source, operator or sink with typed input and output, and the
 * pipelines compose them. The CLI (src/cli) only parses flags and calls a pipeline.
 */
export { UserError } from './errors';
export { loadConfig, type DashsegConfig } from './settings/config';

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

export { encodeMask, encodeMaskCrop, decodeMask, encodeCounts, decodeCounts, rleArea, type CocoRle } from './output/rle';
export {
  SCHEMA_VERSION,
  validateFrameRecord,
  serializeFrameRecord,
  type FrameRecord,
  type InstanceRecord,
} from './output/frame-record';
export { writeJsonLines, frameRecord, instanceRecord, type JsonLinesOptions } from './output/jsonl';

export { renderHud, HudPainter, formatTimestamp, type HudOptions } from './render/hud';
export { blendOver } from './render/blend';

export { unannotated, type AnnotatedFrame, type FrameInstance } from './track/annotated-frame';
export { Throughput } from './stats/throughput';
export { PipelineStats, LatencyHistogram } from './stats/pipeline-stats';
export { InferencePool, defaultWorkerCount, type InferencePoolOptions } from './infer/pool';
export { inferFrames, frameSelector, type InferredFrame, type ScheduleOptions, type FrameSelection } from './infer/schedule';
export { trackFrames } from './track/track-frames';
export { whenFirst } from '../pipelines/when-first';

export { selectBackend, describeBackend, parseBackendName, type BackendName, type BackendChoice } from './model/backend';
export { MaskRCNN, type Detection, type DetectOptions as ModelDetectOptions, type RgbImage, type StageTimings } from './model/mask-rcnn';
export { inferArchitecture, canonicalStateDict, type MaskRcnnArchitecture } from './model/architecture';
export {
  convertCheckpoint,
  loadModelDirectory,
  readCheckpoint,
  describeModel,
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
export { InferenceWorker, type InferenceResult, type InferenceWorkerOptions } from './infer/worker';
export { InstancePainter, paletteColor, drawableInstance, renderInstances, PALETTE, type DrawableInstance, type InstanceStyle } from './render/instances';
export { JsonLinesWriter } from './output/jsonl';
export type { RgbaImage, FramePixels } from './render/blend';

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

export { MaskTracker, TRACKER_DEFAULTS, type TrackerConfig, type TrackInput, type TrackedInstance, type TrackDetection } from './track/tracker';
export { trackInstances, type TrackOutput } from './track/operator';
export { evaluateTracking, TrackingEvaluator, type TrackingMetrics } from './track/metrics';
export { solveAssignment } from './track/hungarian';

export { evaluateFiles, TRACKING_IOU, type EvalReport, type EvalFilesOptions, type CocoScores } from './eval/evaluate';
export { CocoEval, cocoEvaluate, type IouType, type GroundTruthAnnotation, type DetectionResult } from './eval/coco-eval';

export { generateScene, clipFrames, synthFrames, writeClip, writeStillsDataset, SYNTH_CLASSES } from './synth';
