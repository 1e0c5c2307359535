/**
 * Minimum-cost assignment on a rectangular cost matrix: the Hungarian method (Kuhn 1955, Munkres 1957) in its
 * shortest-augmenting-path form with row and column potentials (the formulation of Jonker & Volgenant 1987 and of
 * e-maxx's well-known O(n²m) routine). Rows are added one at a time; each addition runs a Dijkstra-like search over
 * reduced costs for the cheapest augmenting path and then shifts the potentials, so every partial matching stays
 * optimal for the rows it covers.
 *
 * Forbidden pairs (cost `+Infinity`) are handled exactly rather than with a "big M" constant: every cost is carried
 * as a pair (number of forbidden pairs used, sum of finite costs) compared lexicographically. A big M has to exceed
 * every finite total yet stay small enough not to swallow the finite costs' precision, and no single value does
 * both for arbitrary inputs; the pair does, and the forbidden count is an integer, so it is exact.
 */

/** The result of `solveAssignment`. */
export interface Assignment {
  /** For each row, the column assigned to it, or -1. */
  readonly rowToCol: Int32Array;
  /** For each column, the row assigned to it, or -1. */
  readonly colToRow: Int32Array;
  /** Number of assigned pairs. */
  readonly size: number;
  /** Sum of the costs of the assigned pairs (0 when none). */
  readonly cost: number;
}

export interface AssignmentOptions {
  /**
   * When set, a pair is worth assigning only when its cost is below this limit, and the solver minimises
   * `Σ (cost − costLimit)` over the assigned pairs instead: rows and columns are free to stay unassigned, and a
   * pair is used only where it lowers that sum (as `lap.lapjv(..., cost_limit=…)` does). Without it, the solver
   * assigns as many allowed pairs as possible and, among those assignments, minimises the total cost
   * (`scipy.optimize.linear_sum_assignment` where a complete assignment exists).
   */
  costLimit?: number;
}

/**
 * Solves the assignment problem for a `rows × cols` cost matrix given row-major in `cost`.
 *
 * - `+Infinity` marks a forbidden pair: it is never assigned.
 * - Without `costLimit`: the result has the largest number of assigned (allowed) pairs possible, and the least total
 *   cost among assignments of that size. With `costLimit`: see `AssignmentOptions.costLimit`.
 * - NaN and `-Infinity` are errors: neither has a meaningful order with the other costs.
 *
 * O(min(r,c)² · max(r,c)) time, O(r·c) memory.
 */
export function solveAssignment(
  cost: ArrayLike<number>,
  rows: number,
  cols: number,
  options: AssignmentOptions = {},
): Assignment {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`solveAssignment: rows and cols must be integers >= 0, got ${rows} × ${cols}`);
  }
  if (cost.length !== rows * cols) {
    throw new RangeError(`solveAssignment: ${cost.length} costs for a ${rows} × ${cols} matrix`);
  }
  const limit = options.costLimit;
  if (limit !== undefined && !Number.isFinite(limit)) {
    throw new RangeError(`solveAssignment: costLimit must be finite, got ${limit}`);
  }
  const rowToCol = new Int32Array(rows).fill(-1);
  const colToRow = new Int32Array(cols).fill(-1);
  if (rows === 0 || cols === 0) {
    checkCosts(cost);
    return { rowToCol, colToRow, size: 0, cost: 0 };
  }

  // The core wants no more rows than columns (every row gets a column); a tall matrix is solved transposed.
  const transpose = rows > cols;
  const n = transpose ? cols : rows;
  const m = transpose ? rows : cols;
  // Lexicographic cost pairs; `usable` marks entries that may appear in the answer.
  const hi = new Float64Array(n * m);
  const lo = new Float64Array(n * m);
  const usable = new Uint8Array(n * m);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const value = cost[r * cols + c];
      if (Number.isNaN(value) || value === -Infinity) {
        throw new RangeError(`solveAssignment: cost[${r}][${c}] is ${value}; costs must be numbers or +Infinity`);
      }
      const k = transpose ? c * m + r : r * m + c;
      if (limit !== undefined) {
        // Pairs at or above the limit cannot lower the sum; giving them 0 makes them neutral fillers, so the
        // complete assignment the core finds has the same cost as the best partial one once they are dropped.
        if (value < limit) {
          lo[k] = value - limit;
          usable[k] = 1;
        }
      } else if (value === Infinity) {
        hi[k] = 1;
      } else {
        lo[k] = value;
        usable[k] = 1;
      }
    }
  }

  const rowOfCol = hungarianCore(hi, lo, n, m);
  let size = 0;
  let total = 0;
  for (let j = 0; j < m; j++) {
    const i = rowOfCol[j];
    if (i < 0 || usable[i * m + j] === 0) continue;
    const r = transpose ? j : i;
    const c = transpose ? i : j;
    rowToCol[r] = c;
    colToRow[c] = r;
    size++;
    total += cost[r * cols + c];
  }
  return { rowToCol, colToRow, size, cost: total };
}

function checkCosts(cost: ArrayLike<number>): void {
  for (let k = 0; k < cost.length; k++) {
    const value = cost[k];
    if (Number.isNaN(value) || value === -Infinity) {
      throw new RangeError(`solveAssignment: cost ${k} is ${value}; costs must be numbers or +Infinity`);
    }
  }
}

/**
 * The shortest-augmenting-path Hungarian method on an `n × m` matrix, `n <= m`, of cost pairs `(hi, lo)` compared
 * lexicographically. Returns, for each column, its row or -1. Indices inside are 1-based with row/column 0 as the
 * virtual start of each augmenting path, the usual layout of this routine.
 */
function hungarianCore(hi: Float64Array, lo: Float64Array, n: number, m: number): Int32Array {
  const uHi = new Float64Array(n + 1);
  const uLo = new Float64Array(n + 1);
  const vHi = new Float64Array(m + 1);
  const vLo = new Float64Array(m + 1);
  /** p[j]: the row matched to column j (0: none); p[0] is the row being inserted. */
  const p = new Int32Array(m + 1);
  /** way[j]: the previous column on the shortest path to column j. */
  const way = new Int32Array(m + 1);
  const minHi = new Float64Array(m + 1);
  const minLo = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);

  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minHi.fill(Infinity);
    minLo.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      const row = (i0 - 1) * m;
      let deltaHi = Infinity;
      let deltaLo = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j] !== 0) continue;
        const curHi = hi[row + j - 1] - uHi[i0] - vHi[j];
        const curLo = lo[row + j - 1] - uLo[i0] - vLo[j];
        if (curHi < minHi[j] || (curHi === minHi[j] && curLo < minLo[j])) {
          minHi[j] = curHi;
          minLo[j] = curLo;
          way[j] = j0;
        }
        if (minHi[j] < deltaHi || (minHi[j] === deltaHi && minLo[j] < deltaLo)) {
          deltaHi = minHi[j];
          deltaLo = minLo[j];
          j1 = j;
        }
      }
      // Every entry is a finite pair, so some unused column is always reachable while a free one remains.
      for (let j = 0; j <= m; j++) {
        if (used[j] !== 0) {
          uHi[p[j]] += deltaHi;
          uLo[p[j]] += deltaLo;
          vHi[j] -= deltaHi;
          vLo[j] -= deltaLo;
        } else {
          minHi[j] -= deltaHi;
          minLo[j] -= deltaLo;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    // Flip the matched and unmatched edges along the path back to the start.
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }

  const rowOfCol = new Int32Array(m).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j] !== 0) rowOfCol[j - 1] = p[j] - 1;
  return rowOfCol;
}
