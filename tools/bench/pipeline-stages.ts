/**
 * Non-model cost per frame: decode, track, render, encode and JSON, each timed on its own over the clip's frames
 * with synthetic instances.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Observable, lastValueFrom, tap } from 'rxjs';
import { hudLines, poolSizeFor } from '../../pipelines/annotate';
import { frameRecord, JsonLinesWriter } from '../../src/output/jsonl';
import { HudPainter } from '../../src/render/hud';
import { drawableInstance, InstancePainter } from '../../src/render/instances';
import { PipelineStats } from '../../src/stats/pipeline-stats';
import type { AnnotatedFrame, FrameInstance } from '../../src/track/annotated-frame';
import { MaskTracker, type TrackDetection } from '../../src/track/tracker';
import { decode, type DecodedFrame } from '../../src/video/decode';
import { encodeVideo } from '../../src/video/encode';
import { pooledFrame, type Frame } from '../../src/video/frame';
import type { VideoInfo } from '../../src/video/probe';
import { cpuMark, cpuSince, reaped, type CpuSpent } from './cpu-time';
import { SAMPLE, type ClipFrame } from './pipeline-clip';
import { CRF, INSTANCES, PRESET, RUNS } from './pipeline-settings';
import { median } from './report';
import { syntheticDetections } from './synthetic-instances';

/** The clip's frames as the pipeline's stages see them, with each frame's instances as the tracker reports them. */
function annotatedFrames(info: VideoInfo, frames: readonly ClipFrame[], detections: readonly TrackDetection[][]): AnnotatedFrame[] {
  return frames.map((clip, f) => {
    const frame: DecodedFrame = pooledFrame({ index: clip.index, pts: clip.pts, width: info.width, height: info.height, format: 'yuv420p', decodedAt: 0 }, clip.data, () => undefined);
    const instances: FrameInstance[] = (detections[f] ?? []).map((d, k) => ({ ...d, id: k + 1, velocity: [2 * info.fps, info.fps] }));
    return { frame, inferred: true, instances };
  });
}

export interface StageRow {
  stage: string;
  what: string;
  /** Per frame: wall time, main thread busy, ffmpeg CPU. */
  wallMs: number;
  mainMs: number;
  ffmpegMs: number;
}

async function timeDecode(info: VideoInfo): Promise<CpuSpent & { frames: number }> {
  let frames = 0;
  const mark = cpuMark();
  await lastValueFrom(
    decode(info, { poolSize: poolSizeFor(info, 64) }).pipe(
      tap((frame) => {
        frames++;
        frame.release();
      }),
    ),
    { defaultValue: undefined },
  );
  await reaped();
  return { ...cpuSince(mark), frames };
}

/** Frames handed to `encodeVideo` no faster than it gives them back, as the decoder's pool paces them in annotate. */
function pacedFrames(items: readonly AnnotatedFrame[], inFlight: number): Observable<{ frame: Frame }> {
  return new Observable((subscriber) => {
    let next = 0;
    let out = 0;
    let pumping = false;
    const pump = (): void => {
      if (pumping) return;
      pumping = true;
      while (out < inFlight && next < items.length && !subscriber.closed) {
        const { frame } = items[next++] as AnnotatedFrame;
        let released = false;
        out++;
        subscriber.next({
          frame: {
            ...frame,
            data: frame.data,
            release: () => {
              if (released) return;
              released = true;
              out--;
              pump();
            },
          },
        });
      }
      pumping = false;
      if (next === items.length) subscriber.complete();
    };
    pump();
  });
}

async function timeEncode(info: VideoInfo, items: readonly AnnotatedFrame[], work: string): Promise<CpuSpent> {
  const mark = cpuMark();
  await lastValueFrom(
    pacedFrames(items, poolSizeFor(info, 64)).pipe(
      encodeVideo({ output: join(work, 'encode.mp4'), width: info.width, height: info.height, fps: info.fps, preset: PRESET, crf: CRF, overwrite: true }),
      tap((item) => item.frame.release()),
    ),
    { defaultValue: undefined },
  );
  await reaped();
  return cpuSince(mark);
}

/** The tracker on INSTANCES detections a frame, every frame inferred; also how many it reports on the last frame. */
function timeTrack(info: VideoInfo, detections: readonly TrackDetection[][]): { ms: number; reported: number } {
  const tracker = new MaskTracker();
  let reported = 0;
  const started = performance.now();
  detections.forEach((frame, index) => {
    reported = tracker.update({ index, pts: index / info.fps, width: info.width, height: info.height, inferred: true, detections: frame }).length;
  });
  return { ms: performance.now() - started, reported };
}

/** Masks, boxes and captions, then the HUD, drawn in place on the yuv420p frames as annotate draws them. */
function timeRender(items: readonly AnnotatedFrame[]): number {
  const painter = new InstancePainter();
  const hud = new HudPainter();
  const stats = new PipelineStats();
  const started = performance.now();
  for (const item of items) {
    painter.paint(item.frame, item.instances.map((i) => drawableInstance(i)), 'yuv420p');
    hud.paint(item.frame, hudLines(item, 0, stats, { model: true, latency: false }));
  }
  return performance.now() - started;
}

/** Each frame's JSON line (masks as COCO RLE), serialized and written to a file as annotate's JSON writer does. */
function timeJson(items: readonly AnnotatedFrame[], work: string): number {
  const writer = new JsonLinesWriter(join(work, 'stages.jsonl'));
  const started = performance.now();
  for (const item of items) writer.write(frameRecord(item, SAMPLE));
  const elapsed = performance.now() - started;
  writer.close();
  return elapsed;
}

export async function measureStages(info: VideoInfo, frames: readonly ClipFrame[], work: string): Promise<StageRow[]> {
  const detections = syntheticDetections(frames.length, info.width, info.height);
  const items = annotatedFrames(info, frames, detections);
  const n = frames.length;
  const runs = { decode: [] as (CpuSpent & { frames: number })[], track: [] as number[], render: [] as number[], encode: [] as CpuSpent[], json: [] as number[] };
  let tracked = 0;
  for (let round = 0; round < RUNS; round++) {
    runs.decode.push(await timeDecode(info));
    const track = timeTrack(info, detections);
    runs.track.push(track.ms);
    tracked = track.reported;
    runs.render.push(timeRender(items));
    // After the painter, so x264 encodes frames with instances drawn on them, as in the pipeline.
    runs.encode.push(await timeEncode(info, items, work));
    runs.json.push(timeJson(items, work));
  }
  const external = (spent: readonly CpuSpent[], frameCounts: readonly number[]): Pick<StageRow, 'wallMs' | 'mainMs' | 'ffmpegMs'> => ({
    wallMs: median(spent.map((s, i) => s.wall / (frameCounts[i] as number))),
    mainMs: median(spent.map((s, i) => s.main / (frameCounts[i] as number))),
    ffmpegMs: median(spent.map((s, i) => s.children / (frameCounts[i] as number))),
  });
  const inProcess = (ms: readonly number[]): Pick<StageRow, 'wallMs' | 'mainMs' | 'ffmpegMs'> => {
    const perFrame = median([...ms]) / n;
    return { wallMs: perFrame, mainMs: perFrame, ffmpegMs: 0 };
  };
  return [
    { stage: 'decode', what: 'ffmpeg H.264 → yuv420p over a socket into pooled buffers', ...external(runs.decode, runs.decode.map((d) => d.frames)) },
    { stage: 'track', what: `MaskTracker.update, ${INSTANCES} detections a frame (${tracked} tracked at the end)`, ...inProcess(runs.track) },
    { stage: 'render', what: `${INSTANCES} masks + boxes + captions, then the HUD, on yuv420p`, ...inProcess(runs.render) },
    { stage: 'encode', what: `encodeVideo: Matroska pipe → x264 ${PRESET} crf ${CRF} → mp4`, ...external(runs.encode, runs.encode.map(() => n)) },
    { stage: 'JSON', what: `frameRecord + serialize + write, ${INSTANCES} RLE masks`, ...inProcess(runs.json) },
  ];
}
