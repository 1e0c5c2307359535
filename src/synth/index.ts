/**
 * Synthetic driving scenes with exact ground truth: stills for a COCO training set, clips with per-frame ground
 * truth in the JSON Lines contract. See `dashseg synth --help`.
 */
export { SYNTH_CLASSES, classId, cocoCategories, type SynthClass, type CocoCategory } from './classes';
export { generateScene, SceneRenderer, cameraFor, DEFAULT_MIN_AREA, DEFAULT_IGNORE_AREA, type RenderedScene, type SceneInstance, type SceneOptions, type RenderOptions } from './scene';
export { createWorld, type LayoutOptions } from './street';
export { advanceWorld } from './traffic';
export { LIGHTING_MODES, type LightingMode } from './lighting';
export { Random, hashSeed } from './random';
export { writeStillsDataset, type StillsDatasetOptions, type StillsDatasetSummary, type CocoDataset } from './dataset';
export { sceneSeed } from './still-job';
export { clipFrames, synthFrames, writeClip, groundTruthPath, frameCount, type ClipOptions, type SynthFrame, type WriteClipOptions, type ClipSummary } from './clip';
export { encodePng } from './png';
export type { World, Actor, RoadLayout, Setting } from './world';
