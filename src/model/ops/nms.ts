/**
 * The twins of `torchvision.ops.nms` (its CPU kernel, csrc/ops/cpu/nms_kernel.cpp) and `torchvision.ops.batched_nms`
 * on host arrays: boxes are `(x1, y1, x2, y2)` float32, flat `[N·4]`, and results are kept indices, best first.
 *
 * Why not `tf.image.nonMaxSuppression`: its semantics are TensorFlow's, and they differ from torchvision's in ways
 * that change which boxes survive:
 * - it suppresses at IoU ≥ threshold; torchvision only at IoU > threshold (a pair at exactly 0.5 survives 0.5);
 * - it computes IoU in double precision from the float32 data (CPU backend) or with its own float order (wasm),
 *   while torchvision rounds every step to float32 and compares the float32 IoU with the double threshold, so
 *   pairs within a few ULPs of the threshold go the other way (a float32 IoU of 7/10 is 0.699999988 < 0.7);
 * - it reorders flipped corners with min/max and gives any box with area ≤ 0 an IoU of 0; torchvision uses the
 *   corners as given and lets 0/0 be NaN (which never suppresses);
 * - it drops NaN scores (its `score > scoreThreshold` filter), where torch's descending sort puts them first;
 * - it wants `[y1, x1, y2, x2]`, a maxOutputSize, and has no group (per-class) variant.
 * Equal scores are ordered the same way by both (lower index first). The loop is O(N²) in the worst case, the same
 * as torchvision's CPU kernel, and the inputs are a few thousand boxes already on the host.
 */

/**
 * Indices sorted by score, descending, as torch's stable descending sort orders them: NaN first (torch sorts NaN
 * above every number), equal scores by ascending index.
 */
export function sortByScoreDescending(indices: ArrayLike<number>, scores: ArrayLike<number>): Int32Array {
  const order = Int32Array.from(indices);
  order.sort((a, b) => {
    const sa = scores[a];
    const sb = scores[b];
    const nanA = Number.isNaN(sa);
    const nanB = Number.isNaN(sb);
    if (nanA !== nanB) return nanA ? -1 : 1;
    if (!nanA && sa !== sb) return sb > sa ? 1 : -1;
    return a - b;
  });
  return order;
}

/**
 * The order torch 1.13's *unstable* CPU sort (`Tensor.sort(descending=True)`, i.e. libstdc++'s `std::sort` with
 * ATen's `KeyValueCompDesc`: NaN first, then greater values) leaves `indices` in when sorting by their scores.
 * Equal scores come out in an order that is an artefact of introsort (median-of-three pivots, unguarded partitions,
 * a final insertion sort over runs of 16), so it is reproduced step by step rather than approximated: torchvision's
 * per-class batched NMS orders its result this way, and an RPN keeps its first 1000 from that order.
 */
export function torchCpuSortDescending(indices: ArrayLike<number>, scores: ArrayLike<number>): Int32Array {
  const n = indices.length;
  const ids = Int32Array.from(indices);
  const keys = Float64Array.from(ids, (i) => scores[i]);
  const before = (a: number, b: number): boolean => (Number.isNaN(a) && !Number.isNaN(b)) || a > b;
  const swap = (i: number, j: number): void => {
    const k = keys[i];
    keys[i] = keys[j];
    keys[j] = k;
    const id = ids[i];
    ids[i] = ids[j];
    ids[j] = id;
  };
  const move = (to: number, from: number): void => {
    keys[to] = keys[from];
    ids[to] = ids[from];
  };

  // std::__adjust_heap and std::__push_heap on [first, first + len), placing (key, id) from the hole down.
  const adjustHeap = (first: number, hole: number, len: number, key: number, id: number): void => {
    const top = hole;
    let child = hole;
    while (child < Math.trunc((len - 1) / 2)) {
      child = 2 * (child + 1);
      if (before(keys[first + child], keys[first + child - 1])) child--;
      move(first + hole, first + child);
      hole = child;
    }
    if ((len & 1) === 0 && child === Math.trunc((len - 2) / 2)) {
      child = 2 * (child + 1);
      move(first + hole, first + child - 1);
      hole = child - 1;
    }
    let parent = Math.trunc((hole - 1) / 2);
    while (hole > top && before(keys[first + parent], key)) {
      move(first + hole, first + parent);
      hole = parent;
      parent = Math.trunc((hole - 1) / 2);
    }
    keys[first + hole] = key;
    ids[first + hole] = id;
  };
  // std::__partial_sort(first, last, last): heapsort, introsort's fallback when its depth budget runs out.
  const heapSort = (first: number, last: number): void => {
    const len = last - first;
    if (len >= 2) {
      for (let parent = Math.trunc((len - 2) / 2); parent >= 0; parent--) {
        adjustHeap(first, parent, len, keys[first + parent], ids[first + parent]);
      }
    }
    for (let end = last - 1; end - first >= 1; end--) {
      const key = keys[end];
      const id = ids[end];
      move(end, first);
      adjustHeap(first, 0, end - first, key, id);
    }
  };
  const moveMedianToFirst = (result: number, a: number, b: number, c: number): void => {
    if (before(keys[a], keys[b])) {
      if (before(keys[b], keys[c])) swap(result, b);
      else if (before(keys[a], keys[c])) swap(result, c);
      else swap(result, a);
    } else if (before(keys[a], keys[c])) swap(result, a);
    else if (before(keys[b], keys[c])) swap(result, c);
    else swap(result, b);
  };
  const partition = (first: number, last: number, pivot: number): number => {
    for (;;) {
      while (before(keys[first], keys[pivot])) first++;
      last--;
      while (before(keys[pivot], keys[last])) last--;
      if (!(first < last)) return first;
      swap(first, last);
      first++;
    }
  };
  const introsort = (first: number, last: number, depth: number): void => {
    while (last - first > 16) {
      if (depth === 0) {
        heapSort(first, last);
        return;
      }
      depth--;
      moveMedianToFirst(first, first + 1, first + Math.trunc((last - first) / 2), last - 1);
      const cut = partition(first + 1, last, first);
      introsort(cut, last, depth);
      last = cut;
    }
  };
  // std::__unguarded_linear_insert: shift the element at `at` left past everything it sorts before.
  const linearInsert = (at: number): void => {
    const key = keys[at];
    const id = ids[at];
    let next = at - 1;
    while (before(key, keys[next])) {
      move(at, next);
      at = next;
      next--;
    }
    keys[at] = key;
    ids[at] = id;
  };
  const insertionSort = (first: number, last: number): void => {
    for (let i = first + 1; i < last; i++) {
      if (before(keys[i], keys[first])) {
        const key = keys[i];
        const id = ids[i];
        for (let j = i; j > first; j--) move(j, j - 1);
        keys[first] = key;
        ids[first] = id;
      } else {
        linearInsert(i);
      }
    }
  };

  if (n > 1) {
    introsort(0, n, 2 * (31 - Math.clz32(n)));
    if (n > 16) {
      insertionSort(0, 16);
      for (let i = 16; i < n; i++) linearInsert(i);
    } else {
      insertionSort(0, n);
    }
  }
  return ids;
}

/** torchvision computes `(x2 − x1)·(y2 − y1)` as a float32 tensor op before the loop. */
function boxAreas(boxes: Float32Array): Float32Array {
  const n = boxes.length / 4;
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const w = Math.fround(boxes[i * 4 + 2] - boxes[i * 4]);
    const h = Math.fround(boxes[i * 4 + 3] - boxes[i * 4 + 1]);
    areas[i] = w * h;
  }
  return areas;
}

function checkInputs(name: string, boxes: Float32Array, scores: ArrayLike<number>): number {
  if (boxes.length % 4 !== 0) throw new Error(`${name}: boxes hold ${boxes.length} numbers, not a multiple of 4`);
  const n = boxes.length / 4;
  if (scores.length !== n) throw new Error(`${name}: ${n} boxes but ${scores.length} scores`);
  return n;
}

/**
 * Greedy NMS over `order` (indices into boxes/scores, best first), marking `suppressed` in place; returns the kept
 * indices in visiting order. The arithmetic is the kernel's, in float32: `std::max`/`std::min` written out as their
 * comparisons (so a NaN corner behaves as in C++, where Math.max would propagate it), each product and sum
 * rounded, and the float32 IoU compared with the threshold as a double.
 *
 * The kernel compares each kept box with every later one, O(N²); an RPN's 5 levels of ~1000 proposals made that the
 * host's largest cost per frame (40 ms of a 230 ms frame). Here the same pairs decide the same way, fewer are
 * looked at:
 * - a pair that does not overlap is passed over before any float32 rounding: its intersection is 0, so its IoU is 0
 *   (or NaN for two empty boxes), which suppresses at no threshold >= 0;
 * - whether a kept box suppresses a later one does not depend on the order the later ones are visited in, so a kept
 *   box visits only the later boxes whose left edge lies within [its left edge - the widest box, its right edge),
 *   found in the candidates sorted by left edge: no other box can overlap it horizontally. Boxes with a NaN,
 *   infinite or flipped corner are compared with every box, as in the kernel.
 */
function greedy(
  boxes: Float32Array,
  areas: Float32Array,
  order: Int32Array,
  iouThreshold: number,
  suppressed: Uint8Array,
): number[] {
  const m = order.length;
  const x1 = new Float32Array(m);
  const y1 = new Float32Array(m);
  const x2 = new Float32Array(m);
  const y2 = new Float32Array(m);
  const area = new Float32Array(m);
  const dead = new Uint8Array(m);
  for (let a = 0; a < m; a++) {
    const i = order[a];
    x1[a] = boxes[i * 4];
    y1[a] = boxes[i * 4 + 1];
    x2[a] = boxes[i * 4 + 2];
    y2[a] = boxes[i * 4 + 3];
    area[a] = areas[i];
    dead[a] = suppressed[i];
  }
  const skipDisjoint = iouThreshold >= 0;
  /** Box `a` (kept) against box `b` (later): the kernel's IoU test. */
  const compare = (a: number, b: number): void => {
    const xx1 = x1[a] < x1[b] ? x1[b] : x1[a];
    const xx2 = x2[b] < x2[a] ? x2[b] : x2[a];
    if (skipDisjoint && xx2 <= xx1) return;
    const yy1 = y1[a] < y1[b] ? y1[b] : y1[a];
    const yy2 = y2[b] < y2[a] ? y2[b] : y2[a];
    if (skipDisjoint && yy2 <= yy1) return;
    const dw = Math.fround(xx2 - xx1);
    const dh = Math.fround(yy2 - yy1);
    const w = 0 < dw ? dw : 0;
    const h = 0 < dh ? dh : 0;
    const inter = Math.fround(w * h);
    const iou = Math.fround(inter / Math.fround(Math.fround(area[a] + area[b]) - inter));
    if (iou > iouThreshold) {
      dead[b] = 1;
      suppressed[order[b] as number] = 1;
    }
  };
  const sweep = skipDisjoint ? leftEdgeIndex(x1, x2, y1, y2) : undefined;
  const keep: number[] = [];
  for (let a = 0; a < m; a++) {
    if (dead[a]) continue;
    keep.push(order[a] as number);
    if (sweep === undefined || sweep.irregular[a]) {
      for (let b = a + 1; b < m; b++) if (!dead[b]) compare(a, b);
      continue;
    }
    const { byLeft, left, widest, others } = sweep;
    const ax1 = x1[a] as number;
    const ax2 = x2[a] as number;
    const ay1 = y1[a] as number;
    const ay2 = y2[a] as number;
    for (let k = lowerBound(left, ax1 - widest); k < left.length && (left[k] as number) < ax2; k++) {
      const b = byLeft[k] as number;
      if (b <= a || dead[b]) continue;
      const bx2 = x2[b] as number;
      if (bx2 <= ax1) continue;
      const by1 = y1[b] as number;
      const by2 = y2[b] as number;
      if (by2 <= ay1 || by1 >= ay2) continue;
      compare(a, b);
    }
    for (const b of others) if (b > a && !dead[b]) compare(a, b);
  }
  return keep;
}

interface LeftEdgeIndex {
  /** Positions of the regular boxes sorted by left edge, and those left edges (as doubles). */
  byLeft: Int32Array;
  left: Float64Array;
  /** The widest regular box, widened by a margin that covers rounding in `left - widest`. */
  widest: number;
  /** 1 for a box with a NaN, infinite or flipped corner; `others` lists them. */
  irregular: Uint8Array;
  others: number[];
}

function leftEdgeIndex(x1: Float32Array, x2: Float32Array, y1: Float32Array, y2: Float32Array): LeftEdgeIndex {
  const m = x1.length;
  const irregular = new Uint8Array(m);
  const others: number[] = [];
  const regular: number[] = [];
  let widest = 0;
  for (let a = 0; a < m; a++) {
    const ax1 = x1[a] as number;
    const ax2 = x2[a] as number;
    if (!(Number.isFinite(ax1) && Number.isFinite(ax2) && ax1 <= ax2 && (y1[a] as number) <= (y2[a] as number))) {
      irregular[a] = 1;
      others.push(a);
      continue;
    }
    regular.push(a);
    if (ax2 - ax1 > widest) widest = ax2 - ax1;
  }
  regular.sort((a, b) => (x1[a] as number) - (x1[b] as number));
  const byLeft = Int32Array.from(regular);
  const left = Float64Array.from(regular, (a) => x1[a] as number);
  const scale = left.length > 0 ? Math.max(Math.abs(left[0] as number), Math.abs(left[left.length - 1] as number)) : 0;
  return { byLeft, left, widest: widest + 1 + scale * 1e-9, irregular, others };
}

/** The first index of sorted `values` whose value is >= `target`. */
function lowerBound(values: Float64Array, target: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((values[middle] as number) < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * `torchvision.ops.nms`: keeps a box unless a better-scored kept box overlaps it with IoU strictly greater than
 * `iouThreshold`. Returns kept indices in descending score order (ties: lower index first).
 */
export function nms(boxes: Float32Array, scores: ArrayLike<number>, iouThreshold: number): Int32Array {
  const n = checkInputs('nms', boxes, scores);
  const order = sortByScoreDescending(
    Int32Array.from({ length: n }, (_, i) => i),
    scores,
  );
  return Int32Array.from(greedy(boxes, boxAreas(boxes), order, iouThreshold, new Uint8Array(n)));
}

/**
 * torchvision's CPU dispatch in `batched_nms`: above this many boxes (`boxes.numel() > 4000`) it runs the per-class
 * loop and orders the result with an unstable sort; at or below, the coordinate-offset trick, whose single NMS
 * orders it stably. The two differ only in the order of equal scores.
 */
export const TORCHVISION_CPU_BATCHED_LOOP_ABOVE = 1000;

/**
 * `torchvision.ops.batched_nms`: NMS within each group (class label, or FPN level for the RPN) independently; boxes
 * of different groups never suppress each other. Returns all kept indices in descending score order.
 *
 * Suppression is torchvision's per-class loop (`_batched_nms_vanilla`) for every input size. For ≤ 1000 boxes
 * torchvision (on CPU) uses the coordinate-offset trick instead: it adds `group·(max + 1)` to the corners and runs
 * one NMS, which keeps the same boxes except that the large float32 offsets can round corners and flip IoUs within
 * ~1e-4 of the threshold (exact when corners and offsets are representable, as in the tests).
 * Equal scores are ordered as torchvision on CPU orders them: by ascending index for ≤ 1000 boxes (the stable
 * order of the offset trick's NMS), and as torch's unstable sort leaves them above that (`torchCpuSortDescending`).
 */
export function batchedNms(
  boxes: Float32Array,
  scores: ArrayLike<number>,
  groups: ArrayLike<number>,
  iouThreshold: number,
): Int32Array {
  const n = checkInputs('batchedNms', boxes, scores);
  if (groups.length !== n) throw new Error(`batchedNms: ${n} boxes but ${groups.length} group ids`);
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const group = groups[i];
    let list = members.get(group);
    if (list === undefined) {
      list = [];
      members.set(group, list);
    }
    list.push(i);
  }
  const areas = boxAreas(boxes);
  // Groups are disjoint, so one suppression mask serves them all.
  const suppressed = new Uint8Array(n);
  const kept = new Uint8Array(n);
  for (const list of members.values()) {
    for (const index of greedy(boxes, areas, sortByScoreDescending(list, scores), iouThreshold, suppressed)) {
      kept[index] = 1;
    }
  }
  // torch.where(keep_mask): the kept indices in ascending order, which is what the final sort starts from.
  const keptIndices: number[] = [];
  for (let i = 0; i < n; i++) if (kept[i]) keptIndices.push(i);
  return n > TORCHVISION_CPU_BATCHED_LOOP_ABOVE
    ? torchCpuSortDescending(keptIndices, scores)
    : sortByScoreDescending(keptIndices, scores);
}
