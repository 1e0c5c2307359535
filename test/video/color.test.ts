import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { i420ToRgb } from '../../src/video/color';
import { SAMPLE_CLIP, referenceFrame, runFfmpeg, tempDir } from '../support/media';

describe('i420ToRgb', () => {
  test("matches ffmpeg's accurately rounded yuv420p → rgb24 conversion on a real frame", () => {
    const dir = tempDir();
    try {
      const yuv = referenceFrame(SAMPLE_CLIP, 40, 'yuv420p');
      const rgbFile = join(dir.path, 'f.rgb');
      runFfmpeg(['-i', SAMPLE_CLIP, '-vf', 'select=eq(n\\,40)', '-vframes', '1', '-sws_flags', 'accurate_rnd+full_chroma_int', '-f', 'rawvideo', '-pix_fmt', 'rgb24', rgbFile]);
      const expected = readFileSync(rgbFile);
      const ours = i420ToRgb(new Uint8Array(yuv), 960, 540);
      let total = 0;
      let close = 0;
      for (let i = 0; i < ours.length; i++) {
        const d = Math.abs(ours[i] - expected[i]);
        total += d;
        if (d <= 2) close++;
      }
      // ffmpeg interpolates chroma between samples (full_chroma_int) where we repeat it, so sharp colour edges
      // differ by a few levels; everywhere else the two agree to rounding.
      expect(total / ours.length).toBeLessThan(0.25);
      expect(close / ours.length).toBeGreaterThan(0.995);
    } finally {
      dir.remove();
    }
  });

  test('odd sizes: chroma planes rounded up, every pixel converted', () => {
    const [width, height] = [5, 3];
    const chroma = 3 * 2;
    const yuv = new Uint8Array(width * height + 2 * chroma);
    yuv.fill(235, 0, width * height); // white luma
    yuv.fill(128, width * height); // neutral chroma
    expect(Array.from(i420ToRgb(yuv, width, height))).toEqual(new Array<number>(width * height * 3).fill(255));
    expect(() => i420ToRgb(yuv.subarray(1), width, height)).toThrow(RangeError);
  });
});
