/**
 * A COCO dataset of synthetic stills: `images/000000.png ...` and `annotations.json`. Scenes render in child
 * processes (one per core by default); the result does not depend on how many, since every scene's seed comes from
 * the dataset's seed and its index, and annotations are numbered in image order.
 *
 * Processes, not worker threads: on a 16-core machine one process rendered 27 stills/s with 16 worker threads and
 * 32 with 4, while 16 processes of one thread each rendered 112 (docs/experiments.md). Something the threads of one
 * process share (in the canvas library or the runtime) serialises them; on disk or in memory, with libuv's pool at 4
 * or 16 threads, made no difference.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { UserError, errorMessage } from '../errors';
import { packageRoot } from '../paths';
import { cocoCategories, type CocoCategory } from './classes';
import type { CocoAnnotation, CocoImage } from './coco';
import type { LightingMode } from './lighting';
import { renderStill, type StillJob, type StillResult } from './still-job';

export interface StillsDatasetOptions {
  /** Directory to write; created when missing. */
  out: string;
  count: number;
  seed?: number;
  width?: number;
  height?: number;
  /** Every scene at this time of day; mixed when absent. */
  lighting?: LightingMode;
  /** Instances with fewer visible pixels are crowd regions, scored neither way (default 100; 0 scores all). */
  ignoreArea?: number;
  /** Rendering processes; 0 renders in this one, on the calling thread. Default: one per core. */
  workers?: number;
  /** Called after each image is written, in completion order. */
  onImage?: (index: number, instances: number) => void;
}

export interface CocoDataset {
  info: { description: string; version: string; seed: number; count: number; width: number; height: number };
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

export interface StillsDatasetSummary {
  images: number;
  annotations: number;
  /** Annotations per class name. */
  perClass: Record<string, number>;
  /** Images per lighting mode. */
  perLighting: Record<string, number>;
  seconds: number;
  annotationsFile: string;
}

/** The compiled worker: a child process cannot run TypeScript, so tests and the CLI alike use the built file. */
function workerScript(): string {
  return join(packageRoot(), 'dist', 'src', 'synth', 'stills-worker.js');
}

/** Ends a rendering process; resolves once it has exited. */
function end(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill();
  });
}

/** Renders the jobs in `processes` child processes, at most two queued in each, calling `done` per result. */
async function renderInProcesses(jobs: StillJob[], processes: number, done: (result: StillResult) => Promise<void>): Promise<void> {
  const script = workerScript();
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
  const children = Array.from({ length: Math.min(processes, jobs.length) }, () =>
    // Advanced serialisation sends a PNG as bytes, not as a JSON array of numbers. No inherited execArgv: a parent
    // started with --inspect would have every child open the same debugger port.
    fork(script, [], { serialization: 'advanced', execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  let next = 0;
  try {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve, reject) => {
            let inFlight = 0;
            let failed = false;
            const writes: Promise<void>[] = [];
            const feed = (): void => {
              while (inFlight < 2 && next < jobs.length) {
                child.send(jobs[next++]);
                inFlight++;
              }
              if (inFlight === 0) Promise.all(writes).then(() => resolve(), reject);
            };
            child.on('message', (message: StillResult | { index: number; error: string }) => {
              inFlight--;
              if ('error' in message) {
                failed = true;
                reject(new Error(`scene ${message.index}: ${message.error}`));
                return;
              }
              // Handled at once: a failed write left for the final Promise.all would be an unhandled rejection.
              writes.push(
                done(message).catch((error: unknown) => {
                  failed = true;
                  reject(error);
                }),
              );
              if (!failed) feed();
            });
            child.on('error', reject);
            child.on('exit', (code, signal) => {
              if (inFlight > 0) reject(new Error(`stills worker exited with ${signal ?? `code ${code}`}`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(children.map(end));
  }
}

function prepareDirectory(out: string): void {
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UserError(`${out}: is a file, not a directory`);
  try {
    mkdirSync(join(out, 'images'), { recursive: true });
  } catch (error) {
    throw new UserError(`${out}: cannot create the dataset directory (${errorMessage(error)})`);
  }
}

/** Writes the dataset and resolves to what it contains. */
export async function writeStillsDataset(options: StillsDatasetOptions): Promise<StillsDatasetSummary> {
  const started = performance.now();
  const { out, count } = options;
  if (!Number.isInteger(count) || count < 1) throw new UserError(`count must be a whole number >= 1, got ${count}`);
  const seed = options.seed ?? 0;
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  prepareDirectory(out);
  const jobs: StillJob[] = Array.from({ length: count }, (_, index) => ({
    index,
    seed,
    width,
    height,
    ...(options.lighting ? { lighting: options.lighting } : {}),
    ...(options.ignoreArea !== undefined ? { ignoreArea: options.ignoreArea } : {}),
  }));
  const results = new Array<StillResult>(count);
  const save = async (result: StillResult): Promise<void> => {
    try {
      await writeFile(join(out, result.image.file_name), result.png);
    } catch (error) {
      throw new UserError(`${join(out, result.image.file_name)}: cannot write (${errorMessage(error)})`);
    }
    result.png = new Uint8Array(0);
    results[result.index] = result;
    options.onImage?.(result.index, result.annotations.length);
  };
  const processes = options.workers ?? Math.max(1, availableParallelism());
  if (processes > 0 && count > 1) {
    await renderInProcesses(jobs, processes, save);
  } else {
    for (const job of jobs) await save(renderStill(job));
  }

  const dataset: CocoDataset = {
    info: { description: 'dashseg synthetic driving scenes', version: '1', seed, count, width, height },
    images: [],
    annotations: [],
    categories: cocoCategories(),
  };
  const perClass: Record<string, number> = {};
  const perLighting: Record<string, number> = {};
  const names = new Map(dataset.categories.map((c) => [c.id, c.name]));
  for (const result of results) {
    dataset.images.push(result.image);
    perLighting[result.image.lighting] = (perLighting[result.image.lighting] ?? 0) + 1;
    for (const annotation of result.annotations) {
      dataset.annotations.push({ ...annotation, id: dataset.annotations.length + 1 });
      const name = names.get(annotation.category_id) ?? String(annotation.category_id);
      perClass[name] = (perClass[name] ?? 0) + 1;
    }
  }
  const annotationsFile = join(out, 'annotations.json');
  try {
    writeFileSync(annotationsFile, `${JSON.stringify(dataset)}\n`);
  } catch (error) {
    throw new UserError(`${annotationsFile}: cannot write (${errorMessage(error)})`);
  }
  return {
    images: count,
    annotations: dataset.annotations.length,
    perClass,
    perLighting,
    seconds: (performance.now() - started) / 1000,
    annotationsFile,
  };
}
