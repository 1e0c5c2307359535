/**
 * A COCO dataset of synthetic stills: `images/000000.png ...` and `annotations.json`. Scenes render in worker
 * threads (one per core by default); the result does not depend on how many, since every scene's seed comes from
 * the dataset's seed and its index, and annotations are numbered in image order.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
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
  /** Worker threads; 0 renders on the calling thread. Default: one per core. */
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

/** The compiled worker: workers cannot run TypeScript, so tests and the CLI alike use the built file. */
function workerScript(): string {
  return join(packageRoot(), 'dist', 'src', 'synth', 'stills-worker.js');
}

/** Renders the jobs on `threads` worker threads, at most two queued per thread, calling `done` per result. */
async function renderOnWorkers(jobs: StillJob[], threads: number, done: (result: StillResult) => Promise<void>): Promise<void> {
  const script = workerScript();
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
  const workers = Array.from({ length: Math.min(threads, jobs.length) }, () => new Worker(script));
  let next = 0;
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let inFlight = 0;
            let failed = false;
            const writes: Promise<void>[] = [];
            const feed = (): void => {
              while (inFlight < 2 && next < jobs.length) {
                worker.postMessage(jobs[next++]);
                inFlight++;
              }
              if (inFlight === 0) Promise.all(writes).then(() => resolve(), reject);
            };
            worker.on('message', (message: StillResult | { index: number; error: string }) => {
              inFlight--;
              if ('error' in message) {
                failed = true;
                reject(new Error(`scene ${message.index}: ${message.error}`));
                return;
              }
              writes.push(done(message));
              if (!failed) feed();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (inFlight > 0) reject(new Error(`stills worker exited with code ${code}`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
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
  const threads = options.workers ?? Math.max(1, availableParallelism());
  if (threads > 0 && count > 1) {
    await renderOnWorkers(jobs, threads, save);
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
