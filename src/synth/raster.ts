/**
 * Polygon scan conversion at pixel centres, with the nonzero winding rule (canvas's default fill rule): a pixel
 * belongs to a polygon when its centre is inside. Canvas paints the same polygon antialiased, so a pixel in the
 * mask is one the polygon covers at least about half of.
 */

/** Inclusive pixel bounds, grown as polygons are filled. */
export interface PixelBounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function emptyBounds(): PixelBounds {
  return { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
}

let crossX = new Float64Array(64);
let crossDir = new Int8Array(64);

/** Writes `code` into every pixel of `target` (row-major, `width` wide) whose centre lies in the polygon. */
export function fillPolygon(target: Uint16Array, width: number, height: number, points: readonly number[], code: number, bounds: PixelBounds): void {
  const n = points.length >> 1;
  if (n < 3) return;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 1; i < points.length; i += 2) {
    const y = points[i] as number;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const rowStart = Math.max(0, Math.ceil(minY - 0.5));
  const rowEnd = Math.min(height - 1, Math.floor(maxY - 0.5));
  if (crossX.length < n) {
    crossX = new Float64Array(n * 2);
    crossDir = new Int8Array(n * 2);
  }
  for (let row = rowStart; row <= rowEnd; row++) {
    const yc = row + 0.5;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const j = i + 1 === n ? 0 : i + 1;
      const ya = points[2 * i + 1] as number;
      const yb = points[2 * j + 1] as number;
      let dir = 0;
      if (ya <= yc && yb > yc) dir = 1;
      else if (yb <= yc && ya > yc) dir = -1;
      if (dir === 0) continue;
      const xa = points[2 * i] as number;
      const xb = points[2 * j] as number;
      const x = xa + ((yc - ya) * (xb - xa)) / (yb - ya);
      // Insertion keeps the few crossings of a row sorted.
      let k = count++;
      while (k > 0 && (crossX[k - 1] as number) > x) {
        crossX[k] = crossX[k - 1] as number;
        crossDir[k] = crossDir[k - 1] as number;
        k--;
      }
      crossX[k] = x;
      crossDir[k] = dir;
    }
    let winding = 0;
    let spanStart = 0;
    const base = row * width;
    for (let k = 0; k < count; k++) {
      const before = winding;
      winding += crossDir[k] as number;
      if (before === 0 && winding !== 0) {
        spanStart = crossX[k] as number;
      } else if (before !== 0 && winding === 0) {
        const first = Math.max(0, Math.ceil(spanStart - 0.5));
        const last = Math.min(width - 1, Math.ceil((crossX[k] as number) - 0.5) - 1);
        if (first > last) continue;
        target.fill(code, base + first, base + last + 1);
        if (first < bounds.x0) bounds.x0 = first;
        if (last > bounds.x1) bounds.x1 = last;
        if (row < bounds.y0) bounds.y0 = row;
        if (row > bounds.y1) bounds.y1 = row;
      }
    }
  }
}
