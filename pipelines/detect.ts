import { createCanvas } from '@napi-rs/canvas';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { UserError } from '../src/errors';
import { InferenceWorker } from '../src/infer/worker';
import type { BackendName } from '../src/model/backend';
import type { Detection } from '../src/model/mask-rcnn';
import { SCHEMA_VERSION, type FrameRecord } from '../src/output/frame-record';
import { JsonLinesWriter, instanceRecord } from '../src/output/jsonl';
import { InstancePainter, drawableInstance } from '../src/render/instances';
import { readStillImage } from '../src/video/still-image';

export interface DetectOptions {
  images: readonly string[];
  modelDir: string;
  backend?: BackendName | 'auto';
  /** Intra-op threads of the ONNX sessions (default: every core, for one image at a time). */
  threads?: number;
  /** Instances below this score are left out of the outputs (the model's own 0.05 still applies inside). */
  score: number;
  minSize?: number;
  maxSize?: number;
  /** JSON Lines path or '-'. */
  json?: string;
  /** Annotated image: a file for one input, a directory for several. */
  output?: string;
  onBackend?: (description: string) => void;
  onImage?: (path: string, detections: readonly Detection[], milliseconds: number) => void;
}

function annotatedPath(output: string, image: string, several: boolean): string {
  if (!several) return output;
  return join(output, `${basename(image, extname(image))}.annotated.png`);
}

/** `dashseg detect`: every image through the model (in a worker thread), one JSON line each, optional drawings. */
export async function detect(options: DetectOptions): Promise<{ images: number; instances: number }> {
  const several = options.images.length > 1;
  if (options.output !== undefined && several) {
    mkdirSync(options.output, { recursive: true });
    if (!statSync(options.output).isDirectory()) throw new UserError(`${options.output}: with several images, -o must be a directory`);
  }
  const worker = await InferenceWorker.start({
    modelDir: options.modelDir,
    backend: options.backend ?? 'auto',
    // One image at a time: the latency split (one worker, every core).
    use: 'images',
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.minSize !== undefined ? { minSize: options.minSize } : {}),
    ...(options.maxSize !== undefined ? { maxSize: options.maxSize } : {}),
    detect: { minScore: options.score },
  });
  options.onBackend?.(worker.backend);
  const writer = options.json !== undefined ? new JsonLinesWriter(options.json) : undefined;
  const painter = options.output !== undefined ? new InstancePainter() : undefined;
  let instances = 0;
  try {
    for (const [index, path] of options.images.entries()) {
      const image = await readStillImage(path);
      const { width, height } = image;
      const result = await worker.detect(image);
      const kept = result.detections.filter((detection) => detection.score >= options.score);
      instances += kept.length;
      options.onImage?.(path, kept, result.milliseconds);
      const record: FrameRecord = {
        schemaVersion: SCHEMA_VERSION,
        source: path,
        frame: index,
        pts: 0,
        width,
        height,
        inferred: true,
        instances: kept.map((detection) => instanceRecord({ ...detection, id: null }, width, height)),
      };
      writer?.write(record);
      if (painter && options.output !== undefined) {
        const canvas = createCanvas(width, height);
        const context = canvas.getContext('2d');
        const pixels = new Uint8Array(result.image.data.buffer, result.image.data.byteOffset, result.image.data.byteLength);
        painter.paint({ width, height, data: pixels }, kept.map((detection) => drawableInstance({ ...detection, id: null })));
        const imageData = context.createImageData(width, height);
        imageData.data.set(pixels);
        context.putImageData(imageData, 0, 0);
        writeFileSync(annotatedPath(options.output, path, several), canvas.toBuffer('image/png'));
      }
    }
  } finally {
    writer?.close();
    await worker.close();
  }
  return { images: options.images.length, instances };
}
