import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCli } from './support/cli';
import { probeStreams, runFfmpeg, tempDir } from './support/media';

/** Peak resident set of a live process in MB, from the kernel's high-water mark. */
function peakRssMb(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

describe('a long input', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('is processed in bounded memory: the decoder waits for the encoder instead of buffering', async () => {
    // Ten minutes of 960x540 video; 5 fps keeps the test short while the decoder still outruns the encoder by far.
    const input = join(dir.path, 'ten-minutes.mp4');
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=s=960x540:r=5:d=600', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', input]);
    const output = join(dir.path, 'out.mp4');
    const json = join(dir.path, 'out.jsonl');
    const { child, done } = startCli(['annotate', input, '-o', output, '--json', json, '--model', 'none', '--preset', 'ultrafast', '--quiet']);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, peakRssMb(child.pid as number) ?? 0);
    }, 100);
    const result = await done;
    clearInterval(sampler);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(readFileSync(json, 'utf8').trim().split('\n')).toHaveLength(3000);
    expect(probeStreams(output).streams.find((s) => s.codec_type === 'video')?.nb_read_frames).toBe('3000');
    // 3000 frames of 2 MB each would be 6 GB if nothing pushed back.
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(400);
  }, 300_000);
});
