/**
 * A child process that renders stills for the dataset writer (src/synth/dataset.ts): scene, PNG and RLE-encoded
 * annotations, so that the parent only writes files. Jobs arrive as messages and are answered in order. The open
 * channel to the parent is all that keeps it running: once the parent is gone, however it went, it exits.
 */
import { renderStill, type StillJob } from './still-job';

const send = process.send?.bind(process);
if (!send) throw new Error('stills-worker must run as a child process with an IPC channel');
process.on('message', (job: StillJob) => {
  try {
    send(renderStill(job));
  } catch (error) {
    send({ index: job.index, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
