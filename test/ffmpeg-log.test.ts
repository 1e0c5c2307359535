import { isErrorLine, parseShowinfoFrame, parseShowinfoTimeBase } from '../src/video/ffmpeg-log';
import { SAMPLE_CLIP, tempDir, runTool } from './support/media';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const lines = (text: string): string[] => text.split(/\r?\n|\r/).filter((line) => line.trim() !== '');

describe('showinfo lines from a real ffmpeg', () => {
  let stderr: string;

  beforeAll(async () => {
    // 25 fps test pattern moved to a 1/90000 time base: frame n has pts n * 3600.
    const result = await runTool('ffmpeg', [
      '-hide_banner', '-nostdin',
      '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25',
      '-frames:v', '5',
      '-vf', 'settb=expr=1/90000,showinfo',
      '-f', 'null', '-',
    ]);
    expect(result.code).toBe(0);
    stderr = result.stderr;
  });

  test('the input time base is found, and only on the "config in" line', () => {
    const found = lines(stderr)
      .map(parseShowinfoTimeBase)
      .filter((timeBase) => timeBase !== undefined);
    expect(found).toEqual([{ num: 1, den: 90000 }]);
  });

  test('every frame is parsed with its sequence number and pts, and nothing else is', () => {
    const frames = lines(stderr)
      .map(parseShowinfoFrame)
      .filter((frame) => frame !== undefined);
    expect(frames).toEqual([0, 1, 2, 3, 4].map((n) => ({ n, pts: n * 3600 })));
  });

  test('negative timestamps keep their sign', async () => {
    // setpts in time-base units: PTS - 2 at 1/25 gives -2, -1, 0.
    const result = await runTool('ffmpeg', [
      '-hide_banner', '-nostdin',
      '-f', 'lavfi', '-i', 'testsrc=size=32x24:rate=25',
      '-frames:v', '3',
      '-vf', 'setpts=PTS-2,showinfo',
      '-f', 'null', '-',
    ]);
    expect(result.code).toBe(0);
    const all = lines(result.stderr);
    expect(all.map(parseShowinfoTimeBase).filter((t) => t !== undefined)).toEqual([{ num: 1, den: 25 }]);
    expect(all.map(parseShowinfoFrame).filter((f) => f !== undefined)).toEqual([
      { n: 0, pts: -2 },
      { n: 1, pts: -1 },
      { n: 2, pts: 0 },
    ]);
  });

  test('the line layout of newer ffmpeg releases (with duration fields) parses too', () => {
    const line =
      '[Parsed_showinfo_0 @ 0x55d0c7f8b3c0] n:  12 pts:  12288 pts_time:0.48    duration:   1024 duration_time:0.04    ' +
      'fmt:yuv420p cl:left sar:1/1 s:960x540 i:P iskey:0 type:P checksum:1A2B3C4D plane_checksum:[1 2 3] mean:[1 2 3] stdev:[1 2 3]';
    expect(parseShowinfoFrame(line)).toEqual({ n: 12, pts: 12288 });
    expect(
      parseShowinfoTimeBase('[Parsed_showinfo_0 @ 0x55d0c7f8b3c0] config in time_base: 1/12800, frame_rate: 25/1'),
    ).toEqual({ num: 1, den: 12800 });
  });

  test('a zero time base is rejected, and lines from other filters are ignored', () => {
    expect(parseShowinfoTimeBase('[Parsed_showinfo_0 @ 0x1] config in time_base: 0/0, frame_rate: 0/0')).toBeUndefined();
    expect(parseShowinfoFrame('frame=    3 fps=0.0 q=-0.0 Lsize=N/A time=00:00:00.30 bitrate=N/A speed= 495x')).toBeUndefined();
    expect(parseShowinfoFrame('[Parsed_fps_0 @ 0x1] n: 3 pts: 5')).toBeUndefined();
  });
});

describe('isErrorLine', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    temp = tempDir();
  });
  afterAll(() => temp.remove());

  test('a successful run, banner and showinfo included, has no error lines', async () => {
    const result = await runTool('ffmpeg', [
      '-nostdin',
      '-i', SAMPLE_CLIP,
      '-frames:v', '3',
      '-vf', 'showinfo',
      '-f', 'null', '-',
    ]);
    expect(result.code).toBe(0);
    const all = lines(result.stderr);
    expect(all.length).toBeGreaterThan(20); // banner, stream listing, showinfo, progress
    expect(all.filter(isErrorLine)).toEqual([]);
  });

  test('a missing input is reported', async () => {
    const missing = join(temp.path, 'nothing-here.mp4');
    const result = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-i', missing, '-f', 'null', '-']);
    expect(result.code).not.toBe(0);
    const errors = lines(result.stderr).filter(isErrorLine);
    expect(errors).toContain(`${missing}: No such file or directory`);
  });

  test('an input that is not a video is reported', async () => {
    const text = join(temp.path, 'notes.mp4');
    writeFileSync(text, 'this is a shopping list, not a video\n'.repeat(20));
    const result = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-i', text, '-f', 'null', '-']);
    expect(result.code).not.toBe(0);
    const errors = lines(result.stderr).filter(isErrorLine);
    expect(errors.some((line) => line.includes('Invalid data found when processing input'))).toBe(true);
  });

  test.each([
    'Error while decoding stream #0:1: Invalid data found when processing input',
    '[h264 @ 0xe06f380] Invalid NAL unit size (8843 > 2147).',
    'trunc.mp4: corrupt input packet in stream 1',
    '/dev/video0: Permission denied',
    '[tcp @ 0x1] Connection to tcp://10.0.0.1:554 failed: Connection refused',
    'Could not write header for output file #0 (incorrect codec parameters ?)',
    '[h264 @ 0xe06f380] Error splitting the input into NAL units.',
  ])('%s is an error line', (line) => {
    expect(isErrorLine(line)).toBe(true);
  });

  test.each([
    'frame=  221 fps=0.0 q=-0.0 Lsize=N/A time=00:00:08.84 bitrate=N/A speed=46.3x',
    'Press [q] to stop, [?] for help',
    '  Stream #0:1 -> #0:0 (h264 (native) -> wrapped_avframe (native))',
    '[Parsed_showinfo_0 @ 0x1] n:   0 pts:      0 pts_time:0 pos: 48 fmt:yuv420p s:960x540 i:P iskey:1 type:I checksum:DEADBEEF',
  ])('%s is not an error line', (line) => {
    expect(isErrorLine(line)).toBe(false);
  });
});
