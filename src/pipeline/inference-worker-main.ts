/**
 * The inference worker's entry point: selects the TF.js backend and loads the model in this thread, then answers
 * `detect` messages. Pixel buffers arrive transferred, not copied, and go back the same way with the detections.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UserError, errorMessage } from '../errors';
import { describeBackend, selectBackend } from '../model/backend';
import { MaskRCNN } from '../model/mask-rcnn';
import { loadModelDirectory } from '../model/model-dir';
import type { FromWorker, InferenceWorkerData, ToWorker } from './inference-protocol';

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(message, transfer);
}

function failure(error: unknown, id?: number): FromWorker {
  const base = { type: 'error' as const, message: errorMessage(error), userError: error instanceof UserError };
  const withId = id !== undefined ? { ...base, id } : base;
  return error instanceof Error && error.stack !== undefined ? { ...withId, stack: error.stack } : withId;
}

async function main(): Promise<void> {
  const data = workerData as InferenceWorkerData;
  const choice = await selectBackend({ backend: data.backend });
  const { config, tensors } = loadModelDirectory(data.modelDir);
  if (data.minSize !== undefined) config.transform.minSize = data.minSize;
  if (data.maxSize !== undefined) config.transform.maxSize = data.maxSize;
  const model = new MaskRCNN(config, tensors);
  parentPort?.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      model.dispose();
      parentPort?.close();
      return;
    }
    const started = performance.now();
    model.detect(message.image).then(
      (detections) => {
        const transfer = [message.image.data.buffer as ArrayBuffer, ...detections.map((d) => d.mask.data.buffer as ArrayBuffer)];
        send({ type: 'result', id: message.id, detections, image: message.image, milliseconds: performance.now() - started }, transfer);
      },
      (error: unknown) => send(failure(error, message.id)),
    );
  });
  send({ type: 'ready', backend: describeBackend(choice), labels: config.labels });
}

main().catch((error: unknown) => send(failure(error)));
