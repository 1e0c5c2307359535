import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom, lastValueFrom, take, toArray, map, Subscription } from 'rxjs';
import { UserError } from '../../src/errors';
import { decode, type DecodedFrame } from '../../src/video/decode';
import { probe } from '../../src/video/probe';
import { SAMPLE_CLIP, framePts, referenceFrame, runFfmpeg, tempDir } from '../support/media';

function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const digest = (bytes: Uint8Array): string => createHash('sha1').update(bytes).digest('hex');

/** Collect what a decode emits, copying nothing but the metadata, and hand every buffer back. */
function metadata(frame: DecodedFrame): { index: number; pts: number; width: number; height: number } {
  const { index, pts, width, height } = frame;
  frame.release();
  return { index, pts, width, height };
}

describe('decode', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('decodes every frame of the dashcam clip with container timestamps and exact pixels', async () => {
    const info = await probe(SAMPLE_CLIP);
    const digests = new Map<number, string>();
    const frames = await lastValueFrom(
      decode(info).pipe(
        map((frame) => {
          if (frame.index === 0 || frame.index === 100 || frame.index === 220) digests.set(frame.index, digest(frame.data));
          return metadata(frame);
        }),
        toArray(),
      ),
    );
    expect(frames).toHaveLength(221);
    frames.forEach((frame, i) => {
      expect(frame.index).toBe(i);
      expect(frame.pts).toBeCloseTo(i * 0.04, 9);
      expect([frame.width, frame.height]).toEqual([960, 540]);
    });
    for (const [index, hash] of digests) expect(hash).toBe(digest(referenceFrame(SAMPLE_CLIP, index)));
  });

  it('trims with start and duration, numbering frames as in the whole source', async () => {
    const info = await probe(SAMPLE_CLIP);
    let frame50: string | undefined;
    const frames = await lastValueFrom(
      decode(info, { start: 2, duration: 1 }).pipe(
        map((frame) => {
          if (frame.index === 50) frame50 = digest(frame.data);
          return metadata(frame);
        }),
        toArray(),
      ),
    );
    expect(frames.map((f) => f.index)).toEqual(Array.from({ length: 25 }, (_, i) => 50 + i));
    frames.forEach((frame) => expect(frame.pts).toBeCloseTo(frame.index * 0.04, 9));
    expect(frame50).toBe(digest(referenceFrame(SAMPLE_CLIP, 50)));
  });

  it('scales frames when asked', async () => {
    const info = await probe(SAMPLE_CLIP);
    const first = await firstValueFrom(decode(info, { width: 480, height: 270 }));
    // yuv420p: a full-size luma plane and two quarter-size chroma planes.
    expect([first.width, first.height, first.format, first.data.length]).toEqual([480, 270, 'yuv420p', 480 * 270 * 1.5]);
    first.release();
  });

  it('decodes to RGBA when asked, pixel for pixel as ffmpeg converts', async () => {
    const info = await probe(SAMPLE_CLIP);
    const frames = await lastValueFrom(decode(info, { pixelFormat: 'rgba', duration: 0.2 }).pipe(
      map((frame) => {
        const result = { index: frame.index, format: frame.format, hash: digest(frame.data), length: frame.data.length };
        frame.release();
        return result;
      }),
      toArray(),
    ));
    expect(frames).toHaveLength(5);
    expect(frames[3]).toEqual({ index: 3, format: 'rgba', hash: digest(referenceFrame(SAMPLE_CLIP, 3, 'rgba')), length: 960 * 540 * 4 });
  });

  it('keeps exact pts on variable-frame-rate input, with and without a start', async () => {
    const file = join(dir.path, 'vfr.mp4');
    // Drop frames irregularly from a 30 fps source: the result has gaps of 1, 2 and 3 frame periods.
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x120:r=30:d=4', '-vf', "select='not(mod(n\\,3))+eq(mod(n\\,7)\\,1)'", '-vsync', 'vfr', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file]);
    const expected = framePts(file);
    const info = await probe(file);
    expect(info.variableFrameRate).toBe(true);
    const frames = await lastValueFrom(decode(info).pipe(map(metadata), toArray()));
    expect(frames.map((f) => f.index)).toEqual(expected.map((_, i) => i));
    frames.forEach((frame, i) => expect(frame.pts).toBeCloseTo(expected[i] as number, 5));

    const trimmed = await lastValueFrom(decode(info, { start: 1.5, duration: 1 }).pipe(map(metadata), toArray()));
    const inRange = expected.map((pts, index) => ({ pts, index })).filter(({ pts }) => pts >= 1.5 - 1e-6 && pts < 2.5 - 1e-6);
    expect(trimmed.map((f) => f.index)).toEqual(inRange.map((f) => f.index));
  });

  it('stops reading when every pooled buffer is held downstream (backpressure)', async () => {
    const info = await probe(SAMPLE_CLIP);
    const held: DecodedFrame[] = [];
    let subscription: Subscription | undefined;
    await new Promise<void>((resolve) => {
      subscription = decode(info, { poolSize: 5 }).subscribe((frame) => held.push(frame));
      setTimeout(resolve, 1500);
    });
    // ffmpeg decodes the clip in well under 1.5 s; only the pool can have stopped it at five frames.
    expect(held).toHaveLength(5);
    const more = new Promise<number>((resolve) => {
      const before = held.length;
      held.shift()?.release();
      setTimeout(() => resolve(held.length - before + 1), 500);
    });
    expect(await more).toBe(1);
    subscription?.unsubscribe();
  });

  it('yields the decodable frames of a truncated file, then a clear error', async () => {
    const file = join(dir.path, 'truncated.mp4');
    writeFileSync(file, readFileSync(SAMPLE_CLIP).subarray(0, 100_000));
    const info = await probe(file);
    const seen: number[] = [];
    const error = await lastValueFrom(decode(info).pipe(map((frame) => seen.push(metadata(frame).index)))).catch((e: unknown) => e);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(221);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/ended early after \d+ of 221 frames/);
  });

  it('kills ffmpeg when unsubscribed early', async () => {
    // A uniquely named link lets the test find this decode's ffmpeg among any others running.
    const link = join(dir.path, `unsubscribe-${process.pid}.mp4`);
    symlinkSync(SAMPLE_CLIP, link);
    const info = await probe(link);
    const firstTwo = await lastValueFrom(decode(info).pipe(take(2), map(metadata), toArray()));
    expect(firstTwo.map((f) => f.index)).toEqual([0, 1]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesMentioning(link)).toEqual([]);
  });
});
