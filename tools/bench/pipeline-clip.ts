/** The sample clip the pipeline benchmark runs on, and its frames decoded once up front. */
import { join } from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import { packageRoot } from '../../src/paths';
import { decode } from '../../src/video/decode';
import type { VideoInfo } from '../../src/video/probe';

export const SAMPLE = join(packageRoot(), '..', 'shared', 'data', 'udacity-lanelines', 'solidWhiteRight.mp4');

/** One decoded frame of the clip, its bytes copied out of the decoder's pool. */
export interface ClipFrame {
  index: number;
  pts: number;
  data: Uint8Array;
}

/** The clip's frames as the pipeline's decoder produces them (yuv420p), copied so they outlive the decoder. */
export async function clipFrames(info: VideoInfo): Promise<ClipFrame[]> {
  const frames: ClipFrame[] = [];
  await lastValueFrom(
    decode(info).pipe(
      tap((frame) => {
        frames.push({ index: frame.index, pts: frame.pts, data: frame.data.slice() });
        frame.release();
      }),
    ),
    { defaultValue: undefined },
  );
  return frames;
}
