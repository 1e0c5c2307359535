/**
 * The live half of `npm run bench:pipeline`: end-to-end latency of `dashseg stream` (decode to JSON line, each line's
 * `latencyMs`) and the share of frames the model runs on, with the sample clip served in real time over TCP by
 * ffmpeg (`-re`), as a camera or a server would send it.
 *
 * Run for a fast model (the tiny parity model) and, when it has been trained, the bundled one, each writing JSON
 * only (a planner's feed) and JSON plus an annotated video (the whole pipeline).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stream, type StreamSummary } from '../../pipelines/stream';
import type { BackendName } from '../../src/model/backend';
import { BUNDLED_DEFAULT, isModelDir, shippedModelDir } from '../../src/model/model-choice';
import { convertCheckpoint, readModelConfig } from '../../src/model/model-dir';
import { packageRoot } from '../../src/paths';
import { binaryEnv, resolveBinary } from '../../src/video/binaries';
import { machineLine, writeSection } from './report';

const SAMPLE = join(packageRoot(), '..', 'shared', 'data', 'udacity-lanelines', 'solidWhiteRight.mp4');
const FIXTURES = join(packageRoot(), 'test', 'fixtures', 'maskrcnn');

interface LiveModel {
  name: string;
  dir: string;
  minSize?: number;
  /** The defaults (auto, the live split) when absent. */
  backend?: BackendName;
  workers?: number;
  threads?: number;
  /** JSON only: the rows that compare splits and engines need no second, video, run. */
  jsonOnly?: boolean;
}

interface LiveRow {
  model: string;
  outputs: string;
  summary: StreamSummary;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The clip at its own pace, once, to the first client that connects. */
function serve(port: number): { done: Promise<void> } {
  const ffmpeg = resolveBinary('ffmpeg');
  const child = spawn(ffmpeg.path, ['-v', 'error', '-nostdin', '-re', '-i', SAMPLE, '-map', '0:v', '-c', 'copy', '-f', 'mpegts', `tcp://127.0.0.1:${port}?listen=1`], {
    env: binaryEnv(ffmpeg),
    stdio: 'ignore',
  });
  return { done: new Promise((resolve) => child.on('close', () => resolve())) };
}

async function run(model: LiveModel, withVideo: boolean, work: string): Promise<LiveRow> {
  const port = await freePort();
  const feed = serve(port);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const summary = await stream({
    source: `tcp://127.0.0.1:${port}`,
    json: join(work, 'live.jsonl'),
    ...(withVideo ? { output: join(work, 'live.mp4') } : {}),
    model: {
      dir: model.dir,
      score: 0.5,
      ...(model.minSize !== undefined ? { minSize: model.minSize } : {}),
      ...(model.backend !== undefined ? { backend: model.backend } : {}),
      ...(model.workers !== undefined ? { workers: model.workers } : {}),
      ...(model.threads !== undefined ? { threads: model.threads } : {}),
    },
    live: { reconnect: false },
  });
  await feed.done;
  return { model: model.name, outputs: withVideo ? 'JSON + video' : 'JSON only', summary };
}

function models(work: string): LiveModel[] {
  const tinyDir = join(work, 'tiny');
  convertCheckpoint(join(FIXTURES, 'tiny.pt'), { out: tinyDir, labels: join(FIXTURES, 'labels.txt'), minSize: 96, maxSize: 160 });
  const list: LiveModel[] = [{ name: 'tiny parity model (96x160 input)', dir: tinyDir }];
  const bundled = shippedModelDir(BUNDLED_DEFAULT);
  if (isModelDir(bundled)) {
    const sizes = readModelConfig(bundled).transform;
    const name = `bundled ${BUNDLED_DEFAULT} (${sizes.minSize}/${sizes.maxSize})`;
    list.push(
      { name: `${name}, default (onnx: ${cpus().length} workers x 1 thread)`, dir: bundled },
      // The other split and the other engine, to check the default against them.
      { name: `${name}, onnx 1 worker x ${cpus().length} threads`, dir: bundled, backend: 'onnx', workers: 1, threads: cpus().length, jsonOnly: true },
      { name: `${name}, wasm`, dir: bundled, backend: 'wasm', jsonOnly: true },
    );
  }
  return list;
}

function table(rows: readonly LiveRow[]): string {
  const lines = [
    '| model | outputs | frames out | inferred | latency p50 | latency p95 | dropped | output fps |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const { model, outputs, summary: s } of rows) {
    lines.push(
      `| ${model} | ${outputs} | ${s.frames} of 221 | ${((100 * s.inferred) / Math.max(1, s.frames)).toFixed(0)}% | ` +
        `${Math.round(s.latencyP50)} ms | ${Math.round(s.latencyP95)} ms | ${s.dropped} | ${s.fps.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'dashseg-bench-live-'));
  try {
    const rows: LiveRow[] = [];
    for (const model of models(work)) {
      for (const withVideo of model.jsonOnly ? [false] : [false, true]) {
        process.stderr.write(`live: ${model.name}, ${withVideo ? 'JSON + video' : 'JSON only'}...\n`);
        rows.push(await run(model, withVideo, work));
      }
    }
    const markdown = [
      '### Live: latency and share of frames inferred (`dashseg stream`)',
      '',
      `${machineLine()}. Command: \`npm run bench:pipeline\` (tools/bench/live.ts). The 960x540 dashcam clip (221 frames, ` +
        '25 fps) served in real time over TCP by ffmpeg (`-re -c copy -f mpegts`); `dashseg stream tcp://...` with the ' +
        'default backend and workers unless the row names them, `--score 0.5`. Latency is decode to JSON line (`latencyMs`), over every frame.',
      '',
      table(rows),
      '',
      'The model takes the newest frame whenever a worker is free and the frames in between are carried by the tracker, ' +
        'so latency stays near one inference time (plus the encoder when a video is written) instead of growing, and the ' +
        'share of frames inferred is what the model can afford at the source rate.',
    ].join('\n');
    writeSection('pipeline-live', markdown);
    process.stdout.write(`${table(rows)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench live failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
