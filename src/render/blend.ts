/**
 * Composite a straight-alpha RGBA image (what canvas `getImageData` returns) onto an opaque RGBA frame in place.
 * Working on the frame's bytes rather than through a full-frame canvas avoids copying 2 MB in and out per frame.
 */
export function blendOver(
  frame: Uint8Array,
  frameWidth: number,
  frameHeight: number,
  overlay: Uint8Array | Uint8ClampedArray,
  overlayWidth: number,
  overlayHeight: number,
  left: number,
  top: number,
): void {
  const x0 = Math.max(0, left);
  const y0 = Math.max(0, top);
  const x1 = Math.min(frameWidth, left + overlayWidth);
  const y1 = Math.min(frameHeight, top + overlayHeight);
  for (let y = y0; y < y1; y++) {
    let src = ((y - top) * overlayWidth + (x0 - left)) * 4;
    let dst = (y * frameWidth + x0) * 4;
    for (let x = x0; x < x1; x++, src += 4, dst += 4) {
      const alpha = overlay[src + 3] as number;
      if (alpha === 0) continue;
      if (alpha === 255) {
        frame[dst] = overlay[src] as number;
        frame[dst + 1] = overlay[src + 1] as number;
        frame[dst + 2] = overlay[src + 2] as number;
        continue;
      }
      const keep = 255 - alpha;
      // (a*b + 127) / 255 rounded, without a division per channel.
      for (let c = 0; c < 3; c++) {
        const mixed = (overlay[src + c] as number) * alpha + (frame[dst + c] as number) * keep + 128;
        frame[dst + c] = (mixed + (mixed >> 8)) >> 8;
      }
    }
  }
}
