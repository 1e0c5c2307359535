/**
 * The last part of `npm run bench:pipeline` (alone: `node dist/tools/bench/bundled.js`): the bundled model annotating
 * the demo clip (samples/synthetic-drive.mp4) with `--every 1`, video and JSON, end to end (workers started and the
 * model loaded inside the timing, as a user's run), on each engine and worker split side by side in one run, and
 * whether they agree: the same track ids and classes on every frame.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { annotate } from '../../pipelines/annotate';
import type { BackendName } from '../../src/model/backend';
import { BUNDLED_DEFAULT, shippedModelDir } from '../../src/model/model-choice';
import { readModelConfig } from '../../src/model/model-dir';
import { packageRoot } from '../../src/paths';
import { operatingPoint } from '../../src/settings/operating-point';
import { machineLine, writeSection } from './report';

const CLIP = join(packageRoot(), 'samples', 'synthetic-drive.mp4');
const MODEL = shippedModelDir(BUNDLED_DEFAULT);
/** What `annotate` runs the model at when the user sets nothing: its calibrated operating point. */
const AS_SHIPPED = operatingPoint({}, { score: 'model', trackIou: 'model' }, readModelConfig(MODEL));
/** Seconds of the clip: long enough that start-up is a small part, short enough for wasm (~2 frames/s). */
const DURATION = Number(process.env.BENCH_BUNDLED_SECONDS ?? 6);

interface Setup {
  label: string;
  backend: BackendName;
  workers?: number;
  threads?: number;
}

const SETUPS: Setup[] = [
  { label: 'onnx, default split (2 workers x 1 thread)', backend: 'onnx' },
  { label: 'onnx, 1 worker x 2 threads', backend: 'onnx', workers: 1, threads: 2 },
  { label: 'wasm, default (2 workers)', backend: 'wasm' },
];

interface Row {
  setup: Setup;
  backend: string;
  frames: number;
  seconds: number;
  instances: number;
  tracks: number;
  /** Per frame, the sorted "id:classId" of its instances. */
  identities: string[];
}

function identities(jsonl: string): string[] {
  return readFileSync(jsonl, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const record = JSON.parse(line) as { instances: { id: number | null; classId: number }[] };
      return record.instances
        .map((instance) => `${instance.id}:${instance.classId}`)
        .sort()
        .join(' ');
    });
}

async function measure(setup: Setup, work: string): Promise<Row> {
  const json = join(work, 'out.jsonl');
  let backend = '';
  const started = performance.now();
  const summary = await annotate({
    input: CLIP,
    output: join(work, 'out.mp4'),
    json,
    duration: DURATION,
    model: {
      dir: MODEL,
      backend: setup.backend,
      every: 1,
      score: AS_SHIPPED.score,
      tracker: { iouThreshold: AS_SHIPPED.trackIou },
      ...(setup.workers ? { workers: setup.workers } : {}),
      ...(setup.threads ? { threads: setup.threads } : {}),
    },
    onModel: (description) => (backend = description),
  });
  const seconds = (performance.now() - started) / 1000;
  return { setup, backend, frames: summary.frames, seconds, instances: summary.instances, tracks: summary.tracks, identities: identities(json) };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'dashseg-bench-bundled-'));
  try {
    const rows: Row[] = [];
    for (const setup of SETUPS) {
      process.stderr.write(`bundled: ${setup.label}...\n`);
      const row = await measure(setup, work);
      process.stderr.write(`  ${(row.frames / row.seconds).toFixed(2)} frames/s, ${row.instances} instances, ${row.tracks} tracks\n`);
      rows.push(row);
    }
    const wasm = rows.find((row) => row.setup.backend === 'wasm');
    const first = rows[0] as Row;
    const agreement = (row: Row): string => {
      if (row === first) return 'reference';
      const differing = row.identities.filter((frame, i) => frame !== first.identities[i]).length + Math.abs(row.identities.length - first.identities.length);
      return differing === 0 ? 'same ids and classes on every frame' : `${differing} of ${row.frames} frames differ`;
    };
    const table = [
      '| engine and split | frames | wall | frames/s | vs wasm | instances | tracks | against the first row |',
      '|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (row) =>
          `| ${row.setup.label} | ${row.frames} | ${row.seconds.toFixed(1)} s | **${(row.frames / row.seconds).toFixed(2)}** | ` +
          `${wasm ? `${(wasm.seconds / row.seconds).toFixed(2)}x` : '-'} | ${row.instances} | ${row.tracks} | ${agreement(row)} |`,
      ),
    ].join('\n');
    writeSection(
      'pipeline-bundled',
      `### The bundled model end to end (\`npm run bench:pipeline\`, tools/bench/bundled.ts)

${machineLine()}. \`annotate samples/synthetic-drive.mp4 --duration ${DURATION} --every 1\` with video and JSON (x264
veryfast), the bundled model (${BUNDLED_DEFAULT}) at its own 540/960 and operating point (\`--score ${AS_SHIPPED.score} --track-iou ${AS_SHIPPED.trackIou}\`), timed from the start of the call (workers
started, the model loaded, ONNX graphs from the cache) to the finished files; one run each, in this order, in one
process. Backends: ${rows.map((row) => `${row.setup.label}: ${row.backend.split(';')[0]}`).join('; ')}.

${table}`,
    );
    process.stdout.write(`${table}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench bundled failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
