import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { from, lastValueFrom, map, take, toArray } from 'rxjs';
import { UserError } from '../../src/errors';
import { decode } from '../../src/video/decode';
import { encodeVideo } from '../../src/video/encode';
import type { Frame } from '../../src/video/frame';
import { probe } from '../../src/video/probe';
import { SAMPLE_CLIP, ffmpegPath, framePts, probeStreams, runFfmpeg, tempDir } from '../support/media';

/** A solid-colour frame whose release is counted, so the test sees every buffer handed back. */
function solidFrame(index: number, pts: number, released: Set<number>): { frame: Frame } {
  const width = 64;
  const height = 48;
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set([index * 20, 255 - index * 20, 128, 255], i);
  return { frame: { index, pts, width, height, format: 'rgba', data, release: () => released.add(index) } };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('encodeVideo', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('keeps irregular frame times, passes every frame on once ffmpeg has it', async () => {
    const output = join(dir.path, 'irregular.mp4');
    const times = [0, 0.04, 0.1, 0.2, 0.24, 0.5, 0.54];
    const released = new Set<number>();
    const passed = await lastValueFrom(
      from(times.map((pts, i) => solidFrame(i, pts, released))).pipe(
        encodeVideo({ output, width: 64, height: 48, format: 'rgba', fps: 25, variableTimeBase: { num: 1, den: 1000 } }),
        map((item) => item.frame.index),
        toArray(),
      ),
    );
    expect(passed).toEqual(times.map((_, i) => i));
    // Every frame is shown, the last one included (ffmpeg 4.1's mp4 edit list hides it unless told its end).
    const shown = framePts(output);
    expect(shown).toHaveLength(times.length);
    shown.forEach((pts, i) => expect(pts).toBeCloseTo(times[i] as number, 3));
    expect(Number(probeStreams(output).streams[0]?.nb_read_frames)).toBe(times.length);
  });

  it('rejects frames that do not match the announced size and format, handing them back', async () => {
    const released = new Set<number>();
    const error = await lastValueFrom(
      from([0, 0.04].map((pts, i) => solidFrame(i, pts, released))).pipe(
        encodeVideo({ output: join(dir.path, 'mismatch.mp4'), width: 64, height: 48, fps: 25 }),
      ),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/expects 64x48 yuv420p frames, got 64x48 rgba/);
    expect([...released].sort()).toEqual([0, 1]);
  });

  it('writes Matroska when the output ends in .mkv', async () => {
    const output = join(dir.path, 'clip.mkv');
    const released = new Set<number>();
    await lastValueFrom(from([0, 0.04, 0.08].map((pts, i) => solidFrame(i, pts, released))).pipe(encodeVideo({ output, width: 64, height: 48, format: 'rgba', fps: 25 })));
    expect(probeStreams(output).streams[0]).toMatchObject({ codec_name: 'h264', nb_read_frames: '3' });
  });

  it('refuses to replace an existing file when overwrite is false', async () => {
    const output = join(dir.path, 'exists.mp4');
    writeFileSync(output, 'keep me');
    const released = new Set<number>();
    const error = await lastValueFrom(
      from([solidFrame(0, 0, released)]).pipe(encodeVideo({ output, width: 64, height: 48, format: 'rgba', fps: 25, overwrite: false })),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/exists\.mp4: already exists/);
    expect(readFileSync(output, 'utf8')).toBe('keep me');
  });

  it('writes a new file when overwrite is false', async () => {
    const output = join(dir.path, 'new.mp4');
    const released = new Set<number>();
    await lastValueFrom(from([0, 0.04].map((pts, i) => solidFrame(i, pts, released))).pipe(encodeVideo({ output, width: 64, height: 48, format: 'rgba', fps: 25, overwrite: false })));
    expect(probeStreams(output).streams[0]).toMatchObject({ codec_name: 'h264', nb_read_frames: '2' });
  });

  it('cuts the copied audio where the pictures stop', async () => {
    const info = await probe(SAMPLE_CLIP);
    const output = join(dir.path, 'short.mp4');
    // 50 frames (2 s) of video, while the audio input is the whole 8.84 s clip.
    await lastValueFrom(
      decode(info).pipe(
        take(50),
        map((frame) => ({ frame })),
        encodeVideo({ output, width: info.width, height: info.height, fps: info.fps, preset: 'ultrafast', audio: { source: SAMPLE_CLIP, codec: 'aac' } }),
        map((item) => item.frame.release()),
      ),
    );
    const { streams, format } = probeStreams(output);
    expect(streams.find((s) => s.codec_type === 'video')?.nb_read_frames).toBe('50');
    expect(Number(streams.find((s) => s.codec_type === 'audio')?.duration)).toBeLessThan(2.1);
    expect(Number(format.duration)).toBeCloseTo(2, 1);
    expect(existsSync(join(dir.path, '.short.mp4.trim.mp4'))).toBe(false);
  });

  it('streams MPEG-TS to a tcp:// URL that a receiver on loopback records', async () => {
    const port = await freePort();
    const received = join(dir.path, 'received.ts');
    const receiver = spawn(ffmpegPath(), ['-v', 'error', '-y', '-i', `tcp://127.0.0.1:${port}?listen=1`, '-c', 'copy', received]);
    const receiverDone = new Promise<number | null>((resolve) => receiver.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const info = await probe(SAMPLE_CLIP);
    await lastValueFrom(
      decode(info, { duration: 1 }).pipe(
        map((frame) => ({ frame })),
        encodeVideo({ output: `tcp://127.0.0.1:${port}`, width: info.width, height: info.height, fps: info.fps, preset: 'ultrafast' }),
        map((item) => item.frame.release()),
      ),
    );
    expect(await receiverDone).toBe(0);
    expect(probeStreams(received).streams[0]).toMatchObject({ codec_name: 'h264', nb_read_frames: '25' });
    // MPEG-TS is what network sources carry; the bundled ffprobe once crashed on it.
    expect(await probe(received)).toMatchObject({ container: 'mpegts', width: 960, height: 540, videoCodec: 'h264' });
  });

  it('pads an odd-sized source by one row and column, which 4:2:0 H.264 needs', async () => {
    const odd = join(dir.path, 'odd.mkv');
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=s=161x91:r=10:d=1', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', odd]);
    const info = await probe(odd);
    const output = join(dir.path, 'odd.mp4');
    await lastValueFrom(
      decode(info).pipe(
        map((frame) => ({ frame })),
        encodeVideo({ output, width: info.width, height: info.height, fps: info.fps, preset: 'ultrafast' }),
        map((item) => item.frame.release()),
      ),
    );
    expect(probeStreams(output).streams[0]).toMatchObject({ width: 162, height: 92, nb_read_frames: '10' });
  });

  it('rotated sources come out upright at the swapped size', async () => {
    const rotated = join(dir.path, 'rotated.mp4');
    const upright = join(dir.path, 'upright.mp4');
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x90:r=10:d=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', upright]);
    // Only a stream copy makes this ffmpeg write the tag; it stores it as a display matrix both tools read as 270°.
    runFfmpeg(['-i', upright, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    const info = await probe(rotated);
    expect([info.rotation, info.width, info.height]).toEqual([270, 90, 160]);
    const frames = await lastValueFrom(decode(info).pipe(map((frame) => { frame.release(); return [frame.width, frame.height, frame.data.length]; }), toArray()));
    expect(frames).toHaveLength(10);
    expect(frames[0]).toEqual([90, 160, 90 * 160 * 1.5]);
  });
});
