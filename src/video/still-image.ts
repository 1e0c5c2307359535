import { createCanvas, loadImage } from '@napi-rs/canvas';
import { existsSync } from 'node:fs';
import { UserError, errorMessage } from '../errors';
import type { RgbImage } from '../model/mask-rcnn';

/** Decode a still image (jpg, png, webp, gif, bmp, ...) to RGBA with the bundled canvas; no system libraries. */
export async function readStillImage(path: string): Promise<RgbImage> {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  try {
    const image = await loadImage(path);
    const canvas = createCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, image.width, image.height);
    return { width: image.width, height: image.height, format: 'rgba', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (error) {
    throw new UserError(`${path}: not a readable image (${errorMessage(error)})`);
  }
}
