import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isErrorLine, isVideoEncoderInput, parseDecoderLine } from '../../src/video/ffmpeg-log';
import { SAMPLE_CLIP, tempDir, runTool } from '../support/media';

const lines = (text: string): string[] => text.split(/\r?\n|\r/).filter((line) => line.trim() !== '');

describe('decoder timestamps (-debug_ts) from a real ffmpeg', () => {
  async function decoderLines(args: string[]): Promise<string[]> {
    const result = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-debug_ts', ...args, '-f', 'null', '-']);
    expect(result.code).toBe(0);
    return lines(result.stderr).filter((line) => line.includes('decoder ->'));
  }

  test('every decoded frame of a 1/90000 MPEG-TS stream is parsed with its own time base', async () => {
    const temp = tempDir();
    try {
      const ts = join(temp.path, 'clip.ts');
      // 25 fps in MPEG-TS: a 90 kHz clock, so frame n is 3600 n after the first (which TS starts at 1.4 s).
      await runTool('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25', '-frames:v', '5', '-c:v', 'mpeg2video', ts]);
      const parsed = (await decoderLines(['-copyts', '-i', ts])).map(parseDecoderLine);
      expect(parsed).toHaveLength(5);
      const first = parsed[0]?.pts as number;
      expect(parsed.map((p) => p?.timeBase)).toEqual(Array(5).fill({ num: 1, den: 90000 }));
      expect(parsed.map((p) => (p?.pts as number) - first)).toEqual([0, 3600, 7200, 10800, 14400]);
    } finally {
      temp.remove();
    }
  });

  test('the dashcam clip: 221 frames at 1/25', async () => {
    const parsed = (await decoderLines(['-i', SAMPLE_CLIP, '-an'])).map(parseDecoderLine);
    expect(parsed).toHaveLength(221);
    expect(parsed[220]).toEqual({ pts: 220, timeBase: { num: 1, den: 25 } });
  });

  test('the layouts of ffmpeg 4, 6 and 7 parse to the same thing', () => {
    const v4 = 'decoder -> ist_index:0 type:video frame_pts:12 frame_pts_time:0.48 best_effort_ts:12 best_effort_ts_time:0.48 keyframe:0 frame_type:2 time_base:1/25';
    const v6 = '[h264 @ 0x1] decoder -> pts:12 pts_time:0.48 pkt_dts:10 pkt_dts_time:0.4 best_effort_ts:12 best_effort_ts_time:0.48 duration:1 duration_time:0.04 keyframe:0 frame_type:2 time_base:1/25';
    const v7 = '[vist#0:0/h264 @ 0x1] [dec:h264 @ 0x2] decoder -> pts:12 pts_time:0.48 pkt_dts:10 pkt_dts_time:0.4 duration:1 duration_time:0.04 keyframe:0 frame_type:2 time_base:1/25';
    for (const line of [v4, v6, v7]) expect(parseDecoderLine(line)).toEqual({ pts: 12, timeBase: { num: 1, den: 25 } });
  });

  test('best_effort_ts wins over a different frame pts; NOPTS and negative values are handled', () => {
    expect(parseDecoderLine('decoder -> pts:NOPTS pts_time:NOPTS best_effort_ts:7 best_effort_ts_time:0.7 time_base:1/10')).toEqual({ pts: 7, timeBase: { num: 1, den: 10 } });
    expect(parseDecoderLine('decoder -> pts:NOPTS pts_time:NOPTS pkt_dts:NOPTS keyframe:1 time_base:1/25')).toEqual({ pts: undefined, timeBase: { num: 1, den: 25 } });
    expect(parseDecoderLine('decoder -> pts:-1024 pts_time:-0.08 time_base:1/12800')).toEqual({ pts: -1024, timeBase: { num: 1, den: 12800 } });
  });

  test('other -debug_ts lines and a zero time base are not decoder timestamps', () => {
    expect(parseDecoderLine('demuxer -> ist_index:0 type:video pkt_pts:0 pkt_pts_time:0 pkt_dts:0 pkt_dts_time:0 off:0 off_time:0')).toBeUndefined();
    expect(parseDecoderLine('encoder <- type:video frame_pts:0 frame_pts_time:0 time_base:1/25')).toBeUndefined();
    expect(parseDecoderLine('decoder -> pts:3 time_base:0/0')).toBeUndefined();
  });

  test('encoder input lines are recognised for video only', () => {
    expect(isVideoEncoderInput('encoder <- type:video frame_pts:0 frame_pts_time:0 time_base:1/25')).toBe(true);
    expect(isVideoEncoderInput('encoder <- type:audio frame_pts:0 frame_pts_time:0 time_base:1/48000')).toBe(false);
    expect(isVideoEncoderInput('encoder -> type:video pkt_pts:0 pkt_pts_time:0 pkt_dts:0 pkt_dts_time:0')).toBe(false);
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
