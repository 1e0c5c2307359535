/**
 * Synthetic clips: a world simulated frame by frame, each frame rendered with its exact ground truth, encoded to
 * H.264 and described in a JSON Lines file of the per-frame contract (one line per frame, ids kept across frames).
 */
import { extname } from 'node:path';
import { Observable } from 'rxjs';
import { UserError } from '../errors';
import { writeJsonLines } from '../output/jsonl';
import type { AnnotatedFrame, FrameInstance } from '../track/annotated-frame';
import type { DecodedFrame } from '../video/decode';
import { checkOutputPath, encodeVideo, type X264Preset } from '../video/encode';
import { pooledFrame } from '../video/frame';
import { FramePool } from '../video/frame-pool';
import type { LightingMode } from './lighting';
import { hashSeed, Random } from './random';
import { SceneRenderer, type SceneInstance } from './scene';
import { createWorld } from './street';
import { advanceWorld } from './traffic';
import type { Setting } from './world';

export interface ClipOptions {
  seconds: number;
  fps?: number;
  seed?: number;
  width?: number;
  height?: number;
  lighting?: LightingMode;
  setting?: Setting;
  density?: number;
  /** Instances with fewer visible pixels are marked `ignore` in the ground truth (default 100; 0 scores all). */
  ignoreArea?: number;
}

export interface SynthFrame {
  index: number;
  /** index / fps, seconds. */
  pts: number;
  width: number;
  height: number;
  /** RGBA, row-major. */
  image: Uint8Array;
  instances: SceneInstance[];
  lighting: LightingMode;
}

/** Seconds the world runs before the first frame, so traffic has settled into its gaps. */
const WARM_UP = 1;

export function frameCount(options: ClipOptions): number {
  return Math.max(1, Math.round(options.seconds * (options.fps ?? 25)));
}

/** The frames of a clip, one by one, each rendered when asked for. */
export function* clipFrames(options: ClipOptions): Generator<SynthFrame> {
  const fps = options.fps ?? 25;
  const seed = options.seed ?? 0;
  const width = options.width ?? 960;
  const height = options.height ?? 540;
  const world = createWorld(seed, {
    width,
    height,
    purpose: 'clip',
    extent: 260 + 16 * (options.seconds + WARM_UP),
    ...(options.lighting ? { lighting: options.lighting } : {}),
    ...(options.setting ? { setting: options.setting } : {}),
    ...(options.density !== undefined ? { density: options.density } : {}),
  });
  const random = new Random(hashSeed(seed, 2));
  const renderer = new SceneRenderer(width, height);
  const dt = 1 / fps;
  for (let t = 0; t < WARM_UP; t += dt) advanceWorld(world, dt, random);
  const count = frameCount(options);
  for (let index = 0; index < count; index++) {
    const scene = renderer.render(world, { frame: index, ...(options.ignoreArea !== undefined ? { ignoreArea: options.ignoreArea } : {}) });
    yield { index, pts: index / fps, width, height, image: scene.image, instances: scene.instances, lighting: scene.lighting };
    advanceWorld(world, dt, random);
  }
}

function frameInstances(instances: readonly SceneInstance[]): FrameInstance[] {
  return instances.map((instance) => ({
    id: instance.id,
    classId: instance.classId,
    label: instance.label,
    score: 1,
    box: instance.box,
    mask: instance.mask,
    ...(instance.ignore ? { ignore: true } : {}),
  }));
}

/**
 * The clip as a stream of annotated frames, as the pipeline's stages pass them: RGBA frames in pooled buffers (a
 * frame is rendered only when one of `buffers` has been released), instances as ground truth with score 1.
 */
export function synthFrames(options: ClipOptions, buffers = 3): Observable<AnnotatedFrame> {
  return new Observable<AnnotatedFrame>((subscriber) => {
    const width = options.width ?? 960;
    const height = options.height ?? 540;
    const frames = clipFrames(options);
    const pool = new FramePool(buffers, width * height * 4);
    let stopped = false;
    let timer: NodeJS.Immediate | undefined;
    const schedule = (): void => {
      timer = setImmediate(pump);
    };
    const pump = (): void => {
      if (stopped) return;
      const buffer = pool.acquire();
      if (!buffer) {
        pool.whenAvailable(schedule);
        return;
      }
      let next: IteratorResult<SynthFrame>;
      try {
        next = frames.next();
      } catch (error) {
        subscriber.error(error);
        return;
      }
      if (next.done) {
        pool.release(buffer);
        subscriber.complete();
        return;
      }
      const synth = next.value;
      buffer.set(synth.image);
      const frame: DecodedFrame = pooledFrame(
        { index: synth.index, pts: synth.pts, width, height, format: 'rgba' as const, decodedAt: performance.now() },
        buffer,
        (b) => pool.release(b),
      );
      subscriber.next({ frame, inferred: true, instances: frameInstances(synth.instances) });
      // Back to the event loop between frames, so that ffmpeg's progress is read while frames are made.
      schedule();
    };
    schedule();
    return () => {
      stopped = true;
      if (timer) clearImmediate(timer);
    };
  });
}

export interface WriteClipOptions extends ClipOptions {
  /** The mp4 (or mkv, mov) to write. */
  output: string;
  /** Ground truth JSON Lines; default: the output with `.gt.jsonl` for its extension. */
  json?: string;
  preset?: X264Preset;
  crf?: number;
  onFrame?: (index: number, instances: number) => void;
}

export interface ClipSummary {
  frames: number;
  instances: number;
  /** Distinct instance ids over the clip. */
  tracks: number;
  seconds: number;
  output: string;
  json: string;
}

/** `drive.mp4` → `drive.gt.jsonl`. */
export function groundTruthPath(output: string): string {
  const extension = extname(output);
  return `${extension ? output.slice(0, -extension.length) : output}.gt.jsonl`;
}

export function writeClip(options: WriteClipOptions): Promise<ClipSummary> {
  const started = performance.now();
  const json = options.json ?? groundTruthPath(options.output);
  if (options.output === '-' || /^[a-z][a-z0-9+.-]*:\/\//i.test(options.output)) throw new UserError(`${options.output}: synth clip writes a file, not a stream`);
  checkOutputPath(options.output);
  checkOutputPath(json);
  const fps = options.fps ?? 25;
  const width = options.width ?? 960;
  const height = options.height ?? 540;
  let frames = 0;
  let instances = 0;
  const ids = new Set<number>();
  return new Promise<ClipSummary>((resolve, reject) => {
    synthFrames(options)
      .pipe(
        encodeVideo<AnnotatedFrame>({
          output: options.output,
          width,
          height,
          format: 'rgba',
          fps,
          origin: 0,
          overwrite: true,
          ...(options.preset ? { preset: options.preset } : {}),
          ...(options.crf !== undefined ? { crf: options.crf } : {}),
        }),
        writeJsonLines({ target: json, source: options.output }),
      )
      .subscribe({
        next: (item) => {
          frames++;
          instances += item.instances.length;
          for (const instance of item.instances) if (instance.id !== null) ids.add(instance.id);
          options.onFrame?.(item.frame.index, item.instances.length);
          item.frame.release();
        },
        error: reject,
        complete: () => resolve({ frames, instances, tracks: ids.size, seconds: (performance.now() - started) / 1000, output: options.output, json }),
      });
  });
}
