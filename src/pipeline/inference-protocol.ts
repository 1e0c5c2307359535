import type { BackendName } from '../model/backend';
import type { Detection, RgbImage } from '../model/mask-rcnn';

/** What the inference worker is started with (worker_threads `workerData`). */
export interface InferenceWorkerData {
  modelDir: string;
  backend: BackendName | 'auto';
  minSize?: number;
  maxSize?: number;
}

export type ToWorker = { type: 'detect'; id: number; image: RgbImage } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; backend: string; labels: string[] }
  | { type: 'result'; id: number; detections: Detection[]; image: RgbImage; milliseconds: number }
  | { type: 'error'; id?: number; message: string; stack?: string; userError: boolean };
