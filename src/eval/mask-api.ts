/**
 * The geometry COCO evaluation needs, as cocoapi's maskApi.c computes it: box IoU (bbIou), mask IoU on run-length
 * encodings (rleIou), mask area (rleArea), and the rasterisation of polygons and boxes (rleFrPoly, rleFrBbox) with
 * the union of several parts (rleMerge), which is how a COCO annotation file's polygons become masks.
 *
 * Each function keeps maskApi.c's name and arithmetic, because AP is sensitive to the exact IoU at a threshold and
 * to the exact pixels a polygon covers: a "similar" rasteriser would move objects across the 0.5 / 0.75 lines and
 * across the small/medium/large area boundaries. Masks stay as runs throughout; nothing here makes a bitmap.
 */

/** Uncompressed COCO RLE: `counts` alternate background/foreground runs in column-major order, background first. */
export interface RleRuns {
  height: number;
  width: number;
  counts: readonly number[];
}

/** A box as COCO stores it: x, y, width, height (floats, no +1 convention). */
export type XywhBox = [number, number, number, number];

/** Foreground pixels: the sum of the odd runs (maskApi rleArea). */
export function rleArea(rle: RleRuns): number {
  let area = 0;
  for (let j = 1; j < rle.counts.length; j += 2) area += rle.counts[j] as number;
  return area;
}

/**
 * First and last foreground position (column-major index), or null for an empty mask. Two masks whose spans do not
 * overlap share no pixel, so rleIou can skip them: the same shortcut maskApi takes with its bounding-box test.
 */
function foregroundSpan(rle: RleRuns): [number, number] | null {
  let position = 0;
  let first = -1;
  let last = -1;
  const counts = rle.counts;
  for (let j = 0; j < counts.length; j++) {
    const run = counts[j] as number;
    if (j % 2 === 1 && run > 0) {
      if (first < 0) first = position;
      last = position + run - 1;
    }
    position += run;
  }
  return first < 0 ? null : [first, last];
}

/**
 * IoU of every detection with every ground truth (maskApi bbIou), as `o[d * gt.length + g]`. For a crowd ground
 * truth the denominator is the detection's area alone: a crowd region may cover many objects, and a detection of any
 * one of them lying inside it should not be penalised for the rest of the crowd.
 */
export function bbIou(dt: readonly XywhBox[], gt: readonly XywhBox[], iscrowd: readonly boolean[]): Float64Array {
  const n = gt.length;
  const o = new Float64Array(dt.length * n);
  for (let g = 0; g < n; g++) {
    const G = gt[g] as XywhBox;
    const ga = G[2] * G[3];
    const crowd = iscrowd[g] === true;
    for (let d = 0; d < dt.length; d++) {
      const D = dt[d] as XywhBox;
      const da = D[2] * D[3];
      // Same operand order as the C code (min of right edges minus max of left edges), so the floats agree bit for bit.
      const w = Math.min(D[2] + D[0], G[2] + G[0]) - Math.max(D[0], G[0]);
      if (w <= 0) continue;
      const h = Math.min(D[3] + D[1], G[3] + G[1]) - Math.max(D[1], G[1]);
      if (h <= 0) continue;
      const i = w * h;
      const u = crowd ? da : da + ga - i;
      o[d * n + g] = i / u;
    }
  }
  return o;
}

/**
 * Mask IoU of every detection with every ground truth (maskApi rleIou), as `o[d * gt.length + g]`: the two run lists
 * are walked together, counting pixels set in either (union) and in both (intersection). Crowd ground truths use the
 * detection's area as the denominator, as in bbIou. Masks of different sizes get -1, as in maskApi (never matched).
 */
export function rleIou(dt: readonly RleRuns[], gt: readonly RleRuns[], iscrowd: readonly boolean[]): Float64Array {
  const n = gt.length;
  const o = new Float64Array(dt.length * n);
  const dtSpans = dt.map(foregroundSpan);
  const gtSpans = gt.map(foregroundSpan);
  for (let g = 0; g < n; g++) {
    const G = gt[g] as RleRuns;
    const gs = gtSpans[g];
    for (let d = 0; d < dt.length; d++) {
      const D = dt[d] as RleRuns;
      if (D.height !== G.height || D.width !== G.width) {
        o[d * n + g] = -1;
        continue;
      }
      const ds = dtSpans[d];
      if (gs === null || ds === null || gs[1] < ds[0] || ds[1] < gs[0]) continue;
      o[d * n + g] = runsIou(D.counts, G.counts, iscrowd[g] === true);
    }
  }
  return o;
}

/** The run walk of rleIou for one pair. */
function runsIou(a: readonly number[], b: readonly number[], crowd: boolean): number {
  let ca = a[0] as number;
  let cb = b[0] as number;
  let ia = 1;
  let ib = 1;
  let va = false;
  let vb = false;
  let intersection = 0;
  let union = 0;
  let remaining = 1;
  while (remaining > 0) {
    const c = Math.min(ca, cb);
    if (va || vb) {
      union += c;
      if (va && vb) intersection += c;
    }
    remaining = 0;
    ca -= c;
    if (ca === 0 && ia < a.length) {
      ca = a[ia++] as number;
      va = !va;
    }
    remaining += ca;
    cb -= c;
    if (cb === 0 && ib < b.length) {
      cb = b[ib++] as number;
      vb = !vb;
    }
    remaining += cb;
  }
  if (intersection === 0) return 0;
  if (crowd) union = rleArea({ height: 0, width: 0, counts: a });
  return intersection / union;
}

/**
 * Rasterises a polygon the way maskApi rleFrPoly does: the outline is traced on a 5× finer grid, the points where it
 * crosses pixel-column centres are kept, and each column is filled between successive crossings. `xy` is
 * [x0, y0, x1, y1, ...] in pixels; C's `(int)` casts truncate toward zero, hence Math.trunc rather than floor.
 */
export function rleFrPoly(xy: readonly number[], height: number, width: number): RleRuns {
  const k = Math.floor(xy.length / 2);
  const scale = 5;
  const x: number[] = new Array<number>(k + 1);
  const y: number[] = new Array<number>(k + 1);
  for (let j = 0; j < k; j++) x[j] = Math.trunc(scale * (xy[j * 2] as number) + 0.5);
  x[k] = x[0] as number;
  for (let j = 0; j < k; j++) y[j] = Math.trunc(scale * (xy[j * 2 + 1] as number) + 0.5);
  y[k] = y[0] as number;
  // Dense boundary points on the fine grid, one per step along each edge's longer axis.
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j] as number;
    let xe = x[j + 1] as number;
    let ys = y[j] as number;
    let ye = y[j + 1] as number;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    // A repeated vertex gives 0/0 = NaN here, as in C; its one point never sits at a column change, so it is unused.
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(Math.trunc(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(Math.trunc(xs + s * t + 0.5));
      }
    }
  }
  // Where the outline crosses a pixel column's centre, the first row inside the shape below that crossing.
  const positions: number[] = [];
  for (let j = 1; j < u.length; j++) {
    const uj = u[j] as number;
    const up = u[j - 1] as number;
    if (uj === up) continue;
    let xd = uj < up ? uj : uj - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > width - 1) continue;
    const vj = v[j] as number;
    const vp = v[j - 1] as number;
    let yd = vj < vp ? vj : vp;
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > height) yd = height;
    yd = Math.ceil(yd);
    positions.push(Math.trunc(xd) * height + Math.trunc(yd));
  }
  // Each crossing toggles inside/outside in column-major order; the differences between sorted positions are runs.
  positions.push(height * width);
  positions.sort((p, q) => p - q);
  const a: number[] = new Array<number>(positions.length);
  let previous = 0;
  for (let j = 0; j < positions.length; j++) {
    const t = positions[j] as number;
    a[j] = t - previous;
    previous = t;
  }
  // Two crossings at the same position cancel: their zero-length run is dropped and its neighbours joined.
  const counts: number[] = [a[0] as number];
  let j = 1;
  while (j < a.length) {
    if ((a[j] as number) > 0) {
      counts.push(a[j++] as number);
    } else {
      j++;
      if (j < a.length) counts[counts.length - 1] += a[j++] as number;
    }
  }
  return { height, width, counts };
}

/** A box as a mask (maskApi rleFrBbox): the rectangle's polygon, rasterised like any other. */
export function rleFrBbox(bb: Readonly<XywhBox>, height: number, width: number): RleRuns {
  const [xs, ys] = bb;
  const xe = xs + bb[2];
  const ye = ys + bb[3];
  return rleFrPoly([xs, ys, xs, ye, xe, ye, xe, ys], height, width);
}

/**
 * Union of masks of one size (maskApi rleMerge with intersect = 0), as pycocotools merges the polygons of one
 * annotation. Runs are walked pairwise like rleIou and a run is emitted whenever the union's value changes.
 */
export function rleMerge(masks: readonly RleRuns[]): RleRuns {
  if (masks.length === 0) return { height: 0, width: 0, counts: [] };
  let merged = masks[0] as RleRuns;
  for (let i = 1; i < masks.length; i++) {
    const B = masks[i] as RleRuns;
    // maskApi gives up (an empty 0×0 mask) when sizes differ; callers make every part the image's size.
    if (B.height !== merged.height || B.width !== merged.width) return { height: 0, width: 0, counts: [] };
    merged = { height: merged.height, width: merged.width, counts: unionRuns(merged.counts, B.counts) };
  }
  return merged;
}

function unionRuns(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let ca = a[0] as number;
  let cb = b[0] as number;
  let ia = 1;
  let ib = 1;
  let va = false;
  let vb = false;
  let v = false;
  let cc = 0;
  let remaining = 1;
  while (remaining > 0) {
    const c = Math.min(ca, cb);
    cc += c;
    remaining = 0;
    ca -= c;
    if (ca === 0 && ia < a.length) {
      ca = a[ia++] as number;
      va = !va;
    }
    remaining += ca;
    cb -= c;
    if (cb === 0 && ib < b.length) {
      cb = b[ib++] as number;
      vb = !vb;
    }
    remaining += cb;
    const vp: boolean = v;
    v = va || vb;
    if (v !== vp || remaining === 0) {
      out.push(cc);
      cc = 0;
    }
  }
  return out;
}

/** maskApi rleToBbox: the tight pixel box [x, y, w, h] of the foreground (whole columns when a run wraps). */
export function rleToBbox(rle: RleRuns): XywhBox {
  const { height: h, width: w } = rle;
  const m = Math.floor(rle.counts.length / 2) * 2;
  if (m === 0 || h === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += rle.counts[j] as number;
    const t = cc - (j % 2);
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/** A mask as the tracker's crop: the rectangle around its foreground and 0/1 pixels, row-major inside it. */
export interface RleCrop {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes runs into a crop bounded by the foreground (an empty mask gives a 0×0 crop), so the tracking metrics
 * compare small rectangles instead of whole frames.
 */
export function rleToCrop(rle: RleRuns): RleCrop {
  const h = rle.height;
  let minX = Infinity;
  let maxX = -1;
  let minY = Infinity;
  let maxY = -1;
  let position = 0;
  rle.counts.forEach((run, j) => {
    if (j % 2 === 1 && run > 0) {
      const x0 = Math.floor(position / h);
      const x1 = Math.floor((position + run - 1) / h);
      const y0 = position - x0 * h;
      const y1 = position + run - 1 - x1 * h;
      minX = Math.min(minX, x0);
      maxX = Math.max(maxX, x1);
      // A run that wraps into the next column covers rows from y0 down and from the top: bound it by whole columns.
      minY = Math.min(minY, x1 > x0 ? 0 : y0);
      maxY = Math.max(maxY, x1 > x0 ? h - 1 : y1);
    }
    position += run;
  });
  if (maxX < 0) return { x: 0, y: 0, width: 0, height: 0, data: new Uint8Array(0) };
  const width = maxX - minX + 1;
  const height = maxY - minY + 1;
  const data = new Uint8Array(width * height);
  position = 0;
  rle.counts.forEach((run, j) => {
    if (j % 2 === 1) {
      for (let p = position; p < position + run; p++) {
        const x = Math.floor(p / h);
        data[(p - x * h - minY) * width + (x - minX)] = 1;
      }
    }
    position += run;
  });
  return { x: minX, y: minY, width, height, data };
}
