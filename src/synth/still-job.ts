/** One still of a dataset, as a job a worker thread (or the main thread) can do: render, encode, annotate. */
import { type CocoAnnotation, type CocoImage, imageFileName, sceneAnnotations } from './coco';
import type { LightingMode } from './lighting';
import { encodePng } from './png';
import { hashSeed } from './random';
import { generateScene } from './scene';

export interface StillJob {
  index: number;
  /** The dataset's seed; the scene's own seed is derived from it and the index. */
  seed: number;
  width: number;
  height: number;
  lighting?: LightingMode;
  ignoreArea?: number;
}

export interface StillResult {
  index: number;
  png: Uint8Array;
  image: CocoImage;
  /** Annotation ids are assigned later, in image order; these are numbered from 0. */
  annotations: CocoAnnotation[];
}

export function sceneSeed(datasetSeed: number, index: number): number {
  return hashSeed(datasetSeed, index);
}

export function renderStill(job: StillJob): StillResult {
  const seed = sceneSeed(job.seed, job.index);
  const scene = generateScene(seed, {
    width: job.width,
    height: job.height,
    ...(job.lighting ? { lighting: job.lighting } : {}),
    ...(job.ignoreArea !== undefined ? { ignoreArea: job.ignoreArea } : {}),
  });
  const png = encodePng(scene.image, scene.width, scene.height);
  return {
    index: job.index,
    // A buffer of its own, so that sending it from a rendering process sends only its bytes.
    png: png.byteOffset === 0 && png.byteLength === png.buffer.byteLength ? new Uint8Array(png.buffer) : Uint8Array.from(png),
    image: { id: job.index, file_name: imageFileName(job.index), width: scene.width, height: scene.height, lighting: scene.lighting, setting: scene.setting, seed },
    annotations: sceneAnnotations(scene, job.index, 0),
  };
}
