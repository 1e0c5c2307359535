import type { BackendName } from '../model/backend';
import type { Workload } from './split';
import type { Detection, DetectOptions, RgbImage } from '../model/mask-rcnn';

/** What the inference worker is started with (worker_threads `workerData`). */
export interface InferenceWorkerData {
  modelDir: string;
  backend: BackendName | 'auto';
  /** What the user asked for, if anything; the rest follows `resourceSplit` for `use`. */
  workers?: number;
  threads?: number;
  use: Workload;
  minSize?: number;
  maxSize?: number;
  /** Which detections to compute masks for and send back. */
  detect?: DetectOptions;
}

/** A video frame as it comes out of the decoder: the worker converts it to RGB itself, off the main thread. */
export interface YuvImage {
  width: number;
  height: number;
  format: 'yuv420p';
  data: Uint8Array;
}

/** What the model can be given: an RGB(A) image, or a yuv420p frame. */
export type ModelImage = RgbImage | YuvImage;

export type ToWorker = { type: 'detect'; id: number; image: ModelImage } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; backend: string; backendName: BackendName; labels: string[]; workers: number; threads: number | undefined }
  | { type: 'result'; id: number; detections: Detection[]; image: ModelImage; milliseconds: number; tensors: number }
  | { type: 'error'; id?: number; message: string; stack?: string; userError: boolean };
