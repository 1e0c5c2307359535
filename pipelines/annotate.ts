import { NEVER, identity, map, takeUntil, type Observable } from 'rxjs';
import { writeJsonLines } from '../src/output/jsonl';
import { unannotated, type AnnotatedFrame } from '../src/pipeline/annotated-frame';
import { Throughput } from '../src/pipeline/throughput';
import { formatTimestamp, renderHud } from '../src/render/hud';
import { decode } from '../src/video/decode';
import { checkOutputPath, encodeVideo, type X264Preset } from '../src/video/encode';
import { frameByteLength } from '../src/video/frame';
import { probe, type VideoInfo } from '../src/video/probe';

export interface AnnotateOptions {
  input: string;
  /** Annotated video: an mp4/mkv/mov path or a stream URL. */
  output?: string;
  /** Per-frame JSON Lines: a path or '-' for stdout. */
  json?: string;
  /** Seconds into the input to begin at, and how many seconds to process. */
  start?: number;
  duration?: number;
  preset?: X264Preset;
  crf?: number;
  /** Draw frame number, time and throughput in the corner. */
  hud?: boolean;
  /** Copy the source's audio into the output video (default true). */
  audio?: boolean;
  overwrite?: boolean;
  /** Memory for decoded frames in flight; bounds the process whatever the input's length. */
  bufferMegabytes?: number;
  /** Add `latencyMs` to each JSON line. */
  latency?: boolean;
  /** When this emits, decoding stops and every output is finished with the frames done so far. */
  stop?: Observable<unknown>;
  /** Called once the input is probed, before any frame is decoded. */
  onStart?: (info: VideoInfo, expectedFrames: number | undefined, throughput: Throughput) => void;
  /** Called after each frame has gone through every output. */
  onFrame?: (item: AnnotatedFrame, throughput: Throughput) => void;
}

export interface AnnotateSummary {
  info: VideoInfo;
  frames: number;
  seconds: number;
  fps: number;
  /** True when `stop` ended the run before the input did. */
  interrupted: boolean;
}

/** How many frames a run will produce, when the container says how many it has. */
export function expectedFrameCount(info: VideoInfo, start = 0, duration?: number): number | undefined {
  const available = info.frameCount ?? (info.duration !== undefined ? Math.round(info.duration * info.fps) : undefined);
  if (available === undefined) return undefined;
  const skipped = Math.round(start * info.fps);
  const remaining = Math.max(0, available - skipped);
  return duration === undefined ? remaining : Math.min(remaining, Math.round(duration * info.fps));
}

/** Seconds of source audio that belong with the frames asked for: the trim, or the rest of the source. */
function audioDuration(info: VideoInfo, start: number, duration: number | undefined): number | undefined {
  if (duration !== undefined) return duration;
  return info.duration !== undefined ? Math.max(0, info.duration - start) : undefined;
}

/** Frames in flight that fit in the decode buffer: at least a few, so every stage has one to work on. */
export function poolSizeFor(info: VideoInfo, bufferMegabytes: number): number {
  return Math.max(4, Math.min(256, Math.floor((bufferMegabytes * 2 ** 20) / frameByteLength(info.width, info.height, 'yuv420p'))));
}

/**
 * decode → (model: none yet) → HUD → encode → JSON Lines. Each output stage passes a frame on once it has
 * written it, so the frames in the JSON are always frames in the video, even after an interruption.
 */
export function annotateFrames(info: VideoInfo, options: AnnotateOptions, throughput: Throughput): Observable<AnnotatedFrame> {
  const start = options.start ?? 0;
  const frames = decode(info, {
    start,
    ...(options.duration !== undefined ? { duration: options.duration } : {}),
    poolSize: poolSizeFor(info, options.bufferMegabytes ?? 64),
  });
  const audioSeconds = audioDuration(info, start, options.duration);
  const describe = (item: AnnotatedFrame): string[] => [
    `frame ${item.frame.index}  ${formatTimestamp(item.frame.pts - info.startTime)}  ${throughput.fps.toFixed(1)} fps`,
  ];
  return frames.pipe(
    takeUntil(options.stop ?? NEVER),
    map(unannotated),
    options.hud === false ? identity : renderHud<AnnotatedFrame>(describe),
    options.output === undefined
      ? identity
      : encodeVideo<AnnotatedFrame>({
          output: options.output,
          width: info.width,
          height: info.height,
          fps: info.fps,
          ...(info.variableFrameRate ? { variableTimeBase: info.timeBase } : {}),
          origin: info.startTime + start,
          ...(options.preset !== undefined ? { preset: options.preset } : {}),
          ...(options.crf !== undefined ? { crf: options.crf } : {}),
          ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
          ...(info.hasAudio && options.audio !== false
            ? {
                audio: {
                  source: info.source,
                  ...(info.audioCodec !== undefined ? { codec: info.audioCodec } : {}),
                  start,
                  ...(audioSeconds !== undefined ? { duration: audioSeconds } : {}),
                },
              }
            : {}),
        }),
    options.json === undefined
      ? identity
      : writeJsonLines({ target: options.json, source: options.input, latency: options.latency ?? false }),
  );
}

export async function annotate(options: AnnotateOptions): Promise<AnnotateSummary> {
  if (options.output !== undefined) checkOutputPath(options.output, options.overwrite ?? true);
  if (options.json !== undefined && options.json !== '-') checkOutputPath(options.json, true);
  const info = await probe(options.input);
  const throughput = new Throughput();
  options.onStart?.(info, expectedFrameCount(info, options.start, options.duration), throughput);
  let interrupted = false;
  const stopSubscription = options.stop?.subscribe(() => {
    interrupted = true;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      annotateFrames(info, options, throughput).subscribe({
        next: (item) => {
          throughput.tick();
          options.onFrame?.(item, throughput);
          item.frame.release();
        },
        error: reject,
        complete: resolve,
      });
    });
  } finally {
    stopSubscription?.unsubscribe();
  }
  return { info, frames: throughput.frames, seconds: throughput.elapsed, fps: throughput.averageFps, interrupted };
}
