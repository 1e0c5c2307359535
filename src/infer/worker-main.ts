/**
 * The inference worker's entry point: selects the backend and loads the model in this thread, then answers
 * `detect` messages. Pixel buffers arrive transferred, not copied, and go back the same way with the detections.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UserError, errorMessage } from '../errors';
import { type BackendChoice, BACKEND_SPECS, describeBackend, loadOnnxRuntime, selectBackend } from '../model/backend';
import { type Detector, MaskRCNN, type RgbImage } from '../model/mask-rcnn';
import { type ModelConfig, loadModelDirectory } from '../model/model-dir';
import { OnnxMaskRCNN } from '../model/onnx/mask-rcnn';
import type { RawTensor } from '../model/weights/tensor';
import { graphCacheDir } from '../paths';
import { i420ToRgb } from '../video/color';
import type { FromWorker, InferenceWorkerData, ModelImage, ToWorker } from './protocol';
import { resourceSplit } from './split';

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(message, transfer);
}

function failure(error: unknown, id?: number): FromWorker {
  const base = { type: 'error' as const, message: errorMessage(error), userError: error instanceof UserError };
  const withId = id !== undefined ? { ...base, id } : base;
  return error instanceof Error && error.stack !== undefined ? { ...withId, stack: error.stack } : withId;
}

/** One RGB buffer reused for every yuv420p frame of a size: the conversion allocates nothing per frame. */
let rgbScratch: Uint8Array | undefined;

function rgbImage(image: ModelImage): RgbImage {
  if (image.format !== 'yuv420p') return image;
  const bytes = image.width * image.height * 3;
  if (rgbScratch?.length !== bytes) rgbScratch = new Uint8Array(bytes);
  return { width: image.width, height: image.height, format: 'rgb', data: i420ToRgb(image.data, image.width, image.height, rgbScratch) };
}

let queue: Promise<void> = Promise.resolve();

async function answer(model: Detector, id: number, image: ModelImage, data: InferenceWorkerData): Promise<void> {
  const started = performance.now();
  try {
    const detections = await model.detect(rgbImage(image), undefined, data.detect);
    const transfer = [image.data.buffer as ArrayBuffer, ...detections.map((d) => d.mask.data.buffer as ArrayBuffer)];
    // The worker's live tensor count after each image: flat from image to image, or the model leaks.
    const tensors = model.liveTensors();
    send({ type: 'result', id, detections, image, milliseconds: performance.now() - started, tensors }, transfer);
  } catch (error) {
    send(failure(error, id));
  }
}

async function main(): Promise<void> {
  const data = workerData as InferenceWorkerData;
  const choice = await selectBackend({ backend: data.backend });
  const split = resourceSplit(choice.name, { workers: data.workers, threads: data.threads }, data.use);
  const { config, tensors } = loadModelDirectory(data.modelDir);
  if (data.minSize !== undefined) config.transform.minSize = data.minSize;
  if (data.maxSize !== undefined) config.transform.maxSize = data.maxSize;
  const model = await createDetector(choice, config, tensors, split.threads);
  parentPort?.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      void queue.then(async () => {
        await model.dispose();
        parentPort?.close();
      });
      return;
    }
    // One image at a time: the next one waits here, already in this thread, while the model runs (the pipeline's
    // double buffering), instead of two runs interleaving and doubling the memory they hold.
    queue = queue.then(() => answer(model, message.id, message.image, data));
  });
  const threads = split.threads !== undefined ? `, ${split.threads} thread${split.threads === 1 ? '' : 's'} per worker` : '';
  send({ type: 'ready', backend: `${describeBackend(choice)}${threads}`, backendName: choice.name, labels: config.labels, ...split });
}

/** The model on the chosen engine: ONNX Runtime sessions with the backend's provider, or TF.js modules. */
async function createDetector(choice: BackendChoice, config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>, threads: number | undefined): Promise<Detector> {
  const spec = BACKEND_SPECS[choice.name];
  if (spec.engine === 'tfjs') return new MaskRCNN(config, tensors);
  return OnnxMaskRCNN.create(config, tensors, loadOnnxRuntime(), {
    provider: spec.provider,
    ...(threads !== undefined ? { threads } : {}),
    cacheDir: graphCacheDir(),
  });
}

main().catch((error: unknown) => send(failure(error)));
