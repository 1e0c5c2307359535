import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../src/errors';
import { parseRational, probe, videoInfoFromProbe } from '../../src/video/probe';
import { SAMPLE_CLIP, tempDir } from '../support/media';

/** A minimal ffprobe stream as ffprobe prints it (numbers as strings where ffprobe uses strings). */
function videoStream(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    codec_type: 'video',
    codec_name: 'h264',
    pix_fmt: 'yuv420p',
    width: 1920,
    height: 1080,
    r_frame_rate: '30/1',
    avg_frame_rate: '30/1',
    time_base: '1/15360',
    start_time: '0.000000',
    duration: '10.000000',
    nb_frames: '300',
    ...extra,
  };
}

const format = { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', start_time: '0.000000', duration: '10.000000' };

describe('probe on the real dashcam clip', () => {
  test('reports its exact geometry, rate, length and audio', async () => {
    const info = await probe(SAMPLE_CLIP);
    expect(info).toMatchObject({
      source: SAMPLE_CLIP,
      videoCodec: 'h264',
      pixelFormat: 'yuv420p',
      width: 960,
      height: 540,
      rotation: 0,
      fps: 25,
      frameRate: { num: 25, den: 1 },
      variableFrameRate: false,
      timeBase: { num: 1, den: 25 },
      startTime: 0,
      duration: 8.84,
      frameCount: 221,
      hasAudio: true,
      audioCodec: 'aac',
    });
    expect(info.container).toContain('mp4');
  });
});

describe('probe failures', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    temp = tempDir();
  });
  afterAll(() => temp.remove());

  test('a missing file is a UserError saying so', async () => {
    const missing = join(temp.path, 'drive.mp4');
    const failure = probe(missing);
    await expect(failure).rejects.toThrow(UserError);
    await expect(failure).rejects.toThrow(`${missing}: no such file`);
  });

  test('a text file named .mp4 is a UserError naming the file and the reason', async () => {
    const fake = join(temp.path, 'fake.mp4');
    writeFileSync(fake, 'not a video at all\n'.repeat(50));
    const error = await probe(fake).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    const message = (error as UserError).message;
    expect(message.startsWith(`${fake}: `)).toBe(true);
    expect(message).toMatch(/not a readable video/);
    expect(message).toMatch(/Invalid data found when processing input/);
    // The file name is stated once, not repeated by ffprobe's own prefix.
    expect(message.split(fake).length - 1).toBe(1);
  });

  test('a truncated copy of the clip still probes (the index is at the front)', async () => {
    const truncated = join(temp.path, 'truncated.mp4');
    writeFileSync(truncated, readFileSync(SAMPLE_CLIP).subarray(0, 100_000));
    const info = await probe(truncated);
    expect(info.width).toBe(960);
    expect(info.height).toBe(540);
    expect(info.fps).toBe(25);
    expect(info.hasAudio).toBe(true);
  });
});

describe('videoInfoFromProbe', () => {
  test('a plain stream: values copied, fps from the average rate', () => {
    const info = videoInfoFromProbe('a.mp4', {
      streams: [videoStream({ r_frame_rate: '30000/1001', avg_frame_rate: '30000/1001' })],
      format,
    });
    expect(info.width).toBe(1920);
    expect(info.height).toBe(1080);
    expect(info.fps).toBeCloseTo(29.97003, 5);
    expect(info.frameRate).toEqual({ num: 30000, den: 1001 });
    expect(info.timeBase).toEqual({ num: 1, den: 15360 });
    expect(info.variableFrameRate).toBe(false);
    expect(info.rotation).toBe(0);
    expect(info.hasAudio).toBe(false);
    expect(info.audioCodec).toBeUndefined();
  });

  test('display-matrix rotation -90 means 90° clockwise, with width and height swapped', () => {
    const info = videoInfoFromProbe('phone.mp4', {
      streams: [videoStream({ side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] })],
      format,
    });
    expect(info.rotation).toBe(90);
    expect(info.width).toBe(1080);
    expect(info.height).toBe(1920);
  });

  test('display-matrix rotation 90 (counter-clockwise) is 270 clockwise, also swapped', () => {
    const info = videoInfoFromProbe('phone.mp4', {
      streams: [videoStream({ side_data_list: [{ side_data_type: 'Something else' }, { rotation: 90 }] })],
      format,
    });
    expect(info.rotation).toBe(270);
    expect(info.width).toBe(1080);
    expect(info.height).toBe(1920);
  });

  test('180° keeps width and height', () => {
    const info = videoInfoFromProbe('upside-down.mp4', {
      streams: [videoStream({ side_data_list: [{ rotation: 180 }] })],
      format,
    });
    expect(info.rotation).toBe(180);
    expect(info.width).toBe(1920);
    expect(info.height).toBe(1080);
  });

  test('the old `rotate` tag is clockwise already', () => {
    const info = videoInfoFromProbe('old.mp4', {
      streams: [videoStream({ tags: { rotate: '90' } })],
      format,
    });
    expect(info.rotation).toBe(90);
    expect(info.width).toBe(1080);
    expect(info.height).toBe(1920);
    const back = videoInfoFromProbe('old.mp4', { streams: [videoStream({ tags: { rotate: '270' } })], format });
    expect(back.rotation).toBe(270);
  });

  test('differing nominal and average rates mean variable frame rate; fps is the average', () => {
    const info = videoInfoFromProbe('vfr.mp4', {
      streams: [videoStream({ r_frame_rate: '30/1', avg_frame_rate: '2997/125' })],
      format,
    });
    expect(info.variableFrameRate).toBe(true);
    expect(info.frameRate).toEqual({ num: 2997, den: 125 });
    expect(info.fps).toBeCloseTo(23.976, 6);
  });

  test('equal rates written differently (50/2 vs 25/1) are not variable', () => {
    const info = videoInfoFromProbe('cfr.mp4', {
      streams: [videoStream({ r_frame_rate: '50/2', avg_frame_rate: '25/1' })],
      format,
    });
    expect(info.variableFrameRate).toBe(false);
    expect(info.fps).toBe(25);
  });

  test('an unknown average rate (0/0) falls back to the nominal one and is not called variable', () => {
    const info = videoInfoFromProbe('live.ts', {
      streams: [videoStream({ r_frame_rate: '25/1', avg_frame_rate: '0/0', nb_frames: undefined, duration: undefined })],
      format: { format_name: 'mpegts', start_time: '1.400000' },
    });
    expect(info.fps).toBe(25);
    expect(info.variableFrameRate).toBe(false);
    expect(info.frameCount).toBeUndefined();
    expect(info.duration).toBeUndefined();
    expect(info.container).toBe('mpegts');
  });

  test('cover art (attached_pic) is skipped in favour of the real video stream', () => {
    const cover = videoStream({ codec_name: 'mjpeg', width: 600, height: 600, disposition: { attached_pic: 1 } });
    const info = videoInfoFromProbe('with-cover.mp4', {
      streams: [cover, { codec_type: 'audio', codec_name: 'mp3' }, videoStream({ disposition: { attached_pic: 0 } })],
      format,
    });
    expect(info.videoCodec).toBe('h264');
    expect(info.width).toBe(1920);
    expect(info.hasAudio).toBe(true);
    expect(info.audioCodec).toBe('mp3');
  });

  test('a file whose only video stream is cover art has no video', () => {
    const cover = videoStream({ codec_name: 'mjpeg', disposition: { attached_pic: 1 } });
    expect(() =>
      videoInfoFromProbe('song.mp3', { streams: [{ codec_type: 'audio', codec_name: 'mp3' }, cover], format }),
    ).toThrow(new UserError('song.mp3 has no video stream'));
  });

  test('no video stream at all is a UserError naming the source', () => {
    expect(() => videoInfoFromProbe('audio.m4a', { streams: [{ codec_type: 'audio', codec_name: 'aac' }], format })).toThrow(
      UserError,
    );
    expect(() => videoInfoFromProbe('audio.m4a', { streams: [], format })).toThrow(/audio\.m4a/);
    expect(() => videoInfoFromProbe('empty', {})).toThrow(UserError);
  });

  test('start time and duration fall back to the container, "N/A" is unknown', () => {
    const info = videoInfoFromProbe('a.mkv', {
      streams: [videoStream({ start_time: 'N/A', duration: 'N/A', nb_frames: 'N/A' })],
      format: { format_name: 'matroska,webm', start_time: '0.033000', duration: '12.500000' },
    });
    expect(info.startTime).toBe(0.033);
    expect(info.duration).toBe(12.5);
    expect(info.frameCount).toBeUndefined();
  });
});

describe('parseRational', () => {
  test.each<[string | undefined, { num: number; den: number } | undefined]>([
    ['25/1', { num: 25, den: 1 }],
    ['30000/1001', { num: 30000, den: 1001 }],
    ['0/0', undefined],
    ['25/0', undefined],
    ['abc', undefined],
    [undefined, undefined],
  ])('%s', (text, expected) => {
    expect(parseRational(text)).toEqual(expected);
  });
});
