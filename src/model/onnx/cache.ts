/**
 * Written graphs on disk, keyed by the weights' hash, the settings baked into the graphs and `GRAPH_VERSION`, so a
 * second start loads them instead of writing them again, and a changed model or writer never meets a stale graph.
 * Files are written under a temporary name and renamed, so workers starting together never read half a graph.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../model-dir';
import type { RawTensor } from '../weights/tensor';
import { GRAPH_VERSION, writeGraphs } from './graphs';

export type GraphSource = Uint8Array | string;

export interface GraphSources {
  features: GraphSource;
  boxes: GraphSource;
  masks: GraphSource;
}

const PRODUCER = `dashseg-graph-${GRAPH_VERSION}`;

/** What decides the graphs' bytes: the tensors, the parts of the config the writer reads, and its version. */
export function graphKey(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ version: GRAPH_VERSION, architecture: config.architecture, transform: { mean: config.transform.imageMean, std: config.transform.imageStd }, eps: config.frozenBatchNormEps, anchors: config.anchors ?? null }));
  for (const name of [...tensors.keys()].sort()) {
    const tensor = tensors.get(name) as RawTensor;
    hash.update(`${name}:${tensor.dtype}:${tensor.shape.join('x')};`);
    hash.update(tensor.data);
  }
  return hash.digest('hex').slice(0, 32);
}

/** The graphs for this model: paths of cached files, or freshly written bytes when there is no cache. */
export function cachedGraphs(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>, cacheDir: string | undefined): GraphSources {
  if (cacheDir === undefined) return writeGraphs(config, tensors, PRODUCER);
  const key = graphKey(config, tensors);
  const paths: Record<keyof GraphSources, string> = {
    features: join(cacheDir, `${key}.features.onnx`),
    boxes: join(cacheDir, `${key}.boxes.onnx`),
    masks: join(cacheDir, `${key}.masks.onnx`),
  };
  if (Object.values(paths).every((path) => existsSync(path))) return paths;
  const written = writeGraphs(config, tensors, PRODUCER);
  try {
    mkdirSync(cacheDir, { recursive: true });
    for (const part of Object.keys(paths) as (keyof GraphSources)[]) {
      const temporary = `${paths[part]}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
      try {
        writeFileSync(temporary, written[part]);
        renameSync(temporary, paths[part]);
      } finally {
        rmSync(temporary, { force: true });
      }
    }
  } catch {
    // A read-only or full cache only costs the next start the writing; the graphs in hand still run.
  }
  return written;
}
