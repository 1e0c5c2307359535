/**
 * A worker thread that renders stills for the dataset writer: scene, PNG and RLE-encoded annotations, so that the
 * main thread only writes files. Jobs arrive as messages and are answered in order.
 */
import { parentPort } from 'node:worker_threads';
import { renderStill, type StillJob, type StillResult } from './still-job';

const port = parentPort;
if (!port) throw new Error('stills-worker must run as a worker thread');
port.on('message', (job: StillJob) => {
  try {
    const result: StillResult = renderStill(job);
    port.postMessage(result, [result.png.buffer as ArrayBuffer]);
  } catch (error) {
    port.postMessage({ index: job.index, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
