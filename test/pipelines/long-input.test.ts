import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { annotate, startWorkers } from '../../pipelines/annotate';
import { startCli } from '../support/cli';
import { probeStreams, runFfmpeg, tempDir } from '../support/media';
import { convertTinyModel } from '../support/tiny-model';

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

  it('with a model, over 3000 frames: the workers\' tensor count and the process memory stay flat', async () => {
    // Two minutes of a small moving test pattern at 25 fps; the model runs on every 15th frame (200 times) and the
    // tracker carries the 2800 others, so every stage turns over thousands of times.
    const input = join(dir.path, 'two-minutes.mp4');
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=25:d=120', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', input]);
    const modelDir = join(dir.path, 'tiny');
    convertTinyModel(modelDir);
    const model = { dir: modelDir, every: 15, score: 0.3 };
    const workers = await startWorkers({ ...model, workers: 1 });
    const tensors: number[] = [];
    const rssMb: number[] = [];
    let instances = 0;
    try {
      const summary = await annotate({
        input,
        output: join(dir.path, 'two-minutes.out.mp4'),
        json: join(dir.path, 'two-minutes.jsonl'),
        preset: 'ultrafast',
        model,
        workers,
        onFrame: (item) => {
          instances += item.instances.length;
          if (item.inferred) tensors.push(workers.tensorCounts[0]);
          if (item.frame.index % 250 === 0) rssMb.push(process.memoryUsage().rss / 2 ** 20);
        },
      });
      expect(summary.frames).toBe(3000);
      expect(summary.inferred).toBe(200);
    } finally {
      await workers.close();
    }
    expect(instances).toBeGreaterThan(100);
    // Every image leaves exactly the model's own weights behind in its worker.
    expect(new Set(tensors.slice(1)).size).toBe(1);
    // After warm-up (the first 1000 frames), no growth beyond allocator noise.
    const settled = rssMb.slice(4);
    expect(Math.max(...settled) - settled[0]).toBeLessThan(60);
  }, 300_000);
});
