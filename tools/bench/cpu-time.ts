/**
 * CPU accounting for benchmarks: where a run's processor time went (this process's threads, its ffmpeg children,
 * the main thread, other processes on a shared machine), and a wait for a quiet machine before a run starts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export interface CpuMark {
  wall: number;
  /** CPU of this process, every thread (main, inference workers, libuv pool, GC), µs. */
  process: number;
  /** CPU of finished child processes (ffmpeg, ffprobe), ms: Node reports only its own. */
  children: number;
  /** CPU of the whole machine, every process, ms. */
  machine: number;
  loop: EventLoopUtilization;
}

/** Milliseconds of CPU (or busy main thread) spent between a mark and now. */
export interface CpuSpent {
  wall: number;
  process: number;
  children: number;
  /** Time the main thread's event loop was busy: what the main thread took of a core. */
  main: number;
  /** Cores used on average by processes other than this one and its children: a busy machine skews the figures. */
  others: number;
}

function ticksToMs(ticks: number): number {
  return (ticks * 1000) / CLOCK_TICKS;
}

function childrenCpuMs(): number {
  // Fields after the command name's closing parenthesis start at field 3; cutime and cstime are fields 16 and 17.
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ticksToMs(Number(fields[13]) + Number(fields[14]));
}

function machineCpuMs(): number {
  // cpu user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
  const ticks = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return ticksToMs(total - (ticks[3] ?? 0) - (ticks[4] ?? 0));
}

export function cpuMark(): CpuMark {
  const usage = process.cpuUsage();
  return { wall: performance.now(), process: usage.user + usage.system, children: childrenCpuMs(), machine: machineCpuMs(), loop: performance.eventLoopUtilization() };
}

export function cpuSince(mark: CpuMark): CpuSpent {
  const usage = process.cpuUsage();
  const wall = performance.now() - mark.wall;
  const processMs = (usage.user + usage.system - mark.process) / 1000;
  const children = childrenCpuMs() - mark.children;
  return {
    wall,
    process: processMs,
    children,
    main: performance.eventLoopUtilization(mark.loop).active,
    others: Math.max(0, machineCpuMs() - mark.machine - processMs - children) / wall,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A killed decoder is reaped a moment after the stream ends; its CPU only counts once it has been. */
export const reaped = (): Promise<void> => sleep(200);

/** Other processes may use this much of a core while a run starts (this machine is shared with other work). */
const QUIET_CORES = 0.15;
/** Longest wait for a quiet machine before one run, and over the whole benchmark: it must end in ~10 minutes. */
export const QUIET_WAIT_MS = 15_000;
let quietBudgetMs = 60_000;

/**
 * Waits for half a second in which other processes use less than QUIET_CORES, so that a run does not start while
 * another job holds a core. Whatever load comes during the run is reported with its figures.
 */
export async function quiet(): Promise<void> {
  if (quietBudgetMs <= 0) return;
  const started = performance.now();
  const deadline = started + Math.min(QUIET_WAIT_MS, quietBudgetMs);
  let others = Infinity;
  while (performance.now() < deadline) {
    const mark = cpuMark();
    await sleep(500);
    others = cpuSince(mark).others;
    if (others < QUIET_CORES) break;
  }
  quietBudgetMs -= performance.now() - started;
  if (others >= QUIET_CORES) process.stderr.write(`machine still busy (${others.toFixed(2)} cores used by other processes): measuring anyway\n`);
}
