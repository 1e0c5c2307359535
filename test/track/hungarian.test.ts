import { solveAssignment } from '../../src/track/hungarian';
import { seededRandom } from '../support/random';

interface Best {
  /** Lexicographic objective: without a limit, [-pairs, cost]; with one, [0, Σ(cost − limit)]. */
  key: [number, number];
}

/** Every partial one-to-one assignment of rows to columns, scored as `solveAssignment` promises to optimise. */
function bruteForce(cost: Float64Array, rows: number, cols: number, limit?: number): Best {
  let best: [number, number] = [Infinity, Infinity];
  const usedCols = new Uint8Array(cols);
  const visit = (row: number, pairs: number, sum: number): void => {
    if (row === rows) {
      const key: [number, number] = limit === undefined ? [-pairs, sum] : [0, sum];
      if (key[0] < best[0] || (key[0] === best[0] && key[1] < best[1] - 1e-12)) best = key;
      return;
    }
    visit(row + 1, pairs, sum);
    for (let c = 0; c < cols; c++) {
      const value = cost[row * cols + c];
      if (usedCols[c] || value === Infinity) continue;
      if (limit !== undefined && value >= limit) continue;
      usedCols[c] = 1;
      visit(row + 1, pairs + 1, sum + (limit === undefined ? value : value - limit));
      usedCols[c] = 0;
    }
  };
  visit(0, 0, 0);
  return { key: best };
}

function checkConsistent(cost: Float64Array, rows: number, cols: number, result: ReturnType<typeof solveAssignment>): void {
  let size = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const c = result.rowToCol[r];
    if (c < 0) continue;
    expect(result.colToRow[c]).toBe(r);
    expect(cost[r * cols + c]).toBeLessThan(Infinity);
    size++;
    total += cost[r * cols + c];
  }
  expect(result.size).toBe(size);
  expect(result.cost).toBeCloseTo(total, 9);
  expect([...result.colToRow].filter((r) => r >= 0)).toHaveLength(size);
}

describe('solveAssignment', () => {
  it('solves the textbook 3×3 case', () => {
    // Munkres' classic example: optimum 1 + 2 + 2 = 5 (rows → columns 1, 0, 2).
    const cost = Float64Array.from([4, 1, 3, 2, 0, 5, 3, 2, 2]);
    const result = solveAssignment(cost, 3, 3);
    expect([...result.rowToCol]).toEqual([1, 0, 2]);
    expect(result.cost).toBe(5);
  });

  it('handles empty and degenerate shapes', () => {
    expect(solveAssignment([], 0, 0).size).toBe(0);
    expect([...solveAssignment([], 3, 0).rowToCol]).toEqual([-1, -1, -1]);
    expect([...solveAssignment([], 0, 2).colToRow]).toEqual([-1, -1]);
    expect([...solveAssignment([Infinity, Infinity], 1, 2).rowToCol]).toEqual([-1]);
  });

  it('prefers more allowed pairs over a cheaper but smaller assignment, and forbidden pairs are never used', () => {
    // Row 0 could take column 0 for 0, but then row 1 (only column 0 allowed) would be left out.
    const cost = Float64Array.from([0, 10, 1, Infinity]);
    const result = solveAssignment(cost, 2, 2);
    expect([...result.rowToCol]).toEqual([1, 0]);
    expect(result.cost).toBe(11);
  });

  it('with costLimit, takes a pair only where it pays', () => {
    // 0.1 alone beats 0.6 + 0.6 when each pair is worth (1 − cost).
    const cost = Float64Array.from([0.1, 0.6, 0.6, Infinity]);
    expect([...solveAssignment(cost, 2, 2, { costLimit: 1 }).rowToCol]).toEqual([0, -1]);
    // Without the limit both rows are assigned.
    expect(solveAssignment(cost, 2, 2).size).toBe(2);
    // Pairs at or above the limit are never used.
    expect(solveAssignment(Float64Array.from([1, 2]), 1, 2, { costLimit: 1 }).size).toBe(0);
  });

  it('rejects NaN, -Infinity and shapes that do not match', () => {
    expect(() => solveAssignment([NaN], 1, 1)).toThrow(/NaN/);
    expect(() => solveAssignment([-Infinity], 1, 1)).toThrow(/-Infinity/);
    expect(() => solveAssignment([1, 2, 3], 2, 2)).toThrow(/3 costs/);
    expect(() => solveAssignment([1], 1, 1, { costLimit: NaN })).toThrow(/costLimit/);
  });

  it('matches brute force on 3000 random rectangular matrices with forbidden pairs', () => {
    const rand = seededRandom(20240611);
    let checked = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const rows = 1 + Math.floor(rand() * 6);
      const cols = 1 + Math.floor(rand() * 6);
      const forbidden = rand() * 0.6;
      // Small integer costs make ties common, which is where a wrong potential update shows; some trials use
      // negative and fractional costs.
      const integer = trial % 3 !== 0;
      const cost = Float64Array.from({ length: rows * cols }, () =>
        rand() < forbidden ? Infinity : integer ? Math.floor(rand() * 5) : (rand() - 0.3) * 100,
      );
      const limit = trial % 4 === 0 ? (integer ? 3 : 20) : undefined;
      const result = solveAssignment(cost, rows, cols, limit === undefined ? {} : { costLimit: limit });
      checkConsistent(cost, rows, cols, result);
      const best = bruteForce(cost, rows, cols, limit);
      if (limit === undefined) {
        expect(result.size).toBe(-best.key[0]);
        expect(result.cost).toBeCloseTo(best.key[1], 9);
      } else {
        let sum = 0;
        for (let r = 0; r < rows; r++) if (result.rowToCol[r] >= 0) sum += cost[r * cols + result.rowToCol[r]] - limit;
        expect(sum).toBeCloseTo(best.key[1], 9);
        for (let r = 0; r < rows; r++) {
          if (result.rowToCol[r] >= 0) expect(cost[r * cols + result.rowToCol[r]]).toBeLessThan(limit);
        }
      }
      checked++;
    }
    expect(checked).toBe(3000);
  });

  it('solves a 300×200 matrix quickly and no worse than a greedy assignment', () => {
    const rand = seededRandom(7);
    const rows = 300;
    const cols = 200;
    const cost = Float64Array.from({ length: rows * cols }, () => rand());
    const start = performance.now();
    const result = solveAssignment(cost, rows, cols);
    const ms = performance.now() - start;
    checkConsistent(cost, rows, cols, result);
    expect(result.size).toBe(200);
    // Greedy: repeatedly the cheapest remaining pair; the optimum can only be lower.
    const order = [...cost.keys()].sort((a, b) => cost[a] - cost[b]);
    const rowUsed = new Uint8Array(rows);
    const colUsed = new Uint8Array(cols);
    let greedy = 0;
    for (const k of order) {
      const r = Math.floor(k / cols);
      const c = k % cols;
      if (rowUsed[r] || colUsed[c]) continue;
      rowUsed[r] = colUsed[c] = 1;
      greedy += cost[k];
    }
    expect(result.cost).toBeLessThanOrEqual(greedy + 1e-9);
    expect(ms).toBeLessThan(2000);
  });
});
