/**
 * `npm run bench:io`: what the dashseg pipeline costs on top of ffmpeg itself.
 *
 * Side by side, alternating runs on the same clip with the same x264 settings:
 *   - ffmpeg alone: decode + encode in one process (what a user would run without dashseg),
 *   - dashseg annotate --model none: decode → raw frames in Node → HUD → encode, with per-frame JSON.
 * The figure is the ratio of median wall times, so a busy machine slows both sides alike.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths';
import { binaryEnv, binaryVersion, resolveBinary } from '../../src/video/binaries';
import { BENCHMARKS_DOC, machineLine, median, writeSection } from './report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PRESET = 'veryfast';
const CRF = '23';
const SAMPLE = join(packageRoot(), '..', 'shared', 'data', 'udacity-lanelines', 'solidWhiteRight.mp4');

function seconds(command: string, args: string[]): number {
  const started = performance.now();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  return (performance.now() - started) / 1000;
}

function frameCount(file: string): number {
  const ffprobe = resolveBinary('ffprobe');
  const out = execFileSync(ffprobe.path, ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { encoding: 'utf8', env: binaryEnv(ffprobe) });
  return Number(out.trim());
}

interface Row {
  clip: string;
  frames: number;
  ffmpeg: number;
  dashseg: number;
  dashsegNoHud: number;
}

function measure(clip: string, label: string, work: string): Row {
  const ffmpeg = resolveBinary('ffmpeg').path;
  const cli = join(packageRoot(), 'bin', 'dashseg.js');
  const out = join(work, 'out.mp4');
  const plain = (): number =>
    seconds(ffmpeg, ['-v', 'error', '-y', '-i', clip, '-map', '0:v:0', '-c:v', 'libx264', '-preset', PRESET, '-crf', CRF, '-pix_fmt', 'yuv420p', '-map', '0:a:0?', '-c:a', 'copy', '-movflags', '+faststart', out]);
  const dashseg = (extra: string[]): number =>
    seconds(process.execPath, [cli, 'annotate', clip, '-o', out, '--json', join(work, 'out.jsonl'), '--model', 'none', '--preset', PRESET, '--crf', CRF, '--quiet', ...extra]);
  const times = { ffmpeg: [] as number[], dashseg: [] as number[], noHud: [] as number[] };
  plain();
  dashseg([]);
  for (let i = 0; i < RUNS; i++) {
    times.ffmpeg.push(plain());
    times.dashseg.push(dashseg([]));
    times.noHud.push(dashseg(['--no-hud']));
  }
  return { clip: label, frames: frameCount(clip), ffmpeg: median(times.ffmpeg), dashseg: median(times.dashseg), dashsegNoHud: median(times.noHud) };
}

function main(): void {
  const work = mkdtempSync(join(tmpdir(), 'dashseg-bench-'));
  try {
    const looped = join(work, 'looped.mp4');
    // Five plays of the clip back to back: long enough that start-up (node, probe) is not most of the time.
    execFileSync(resolveBinary('ffmpeg').path, ['-v', 'error', '-y', '-stream_loop', '4', '-i', SAMPLE, '-c', 'copy', looped]);
    const rows = [measure(SAMPLE, 'solidWhiteRight.mp4 (8.8 s)', work), measure(looped, 'same, looped 5x (44 s)', work)];
    const table = rows
      .map((r) => {
        const overhead = (r.dashseg / r.ffmpeg - 1) * 100;
        const overheadNoHud = (r.dashsegNoHud / r.ffmpeg - 1) * 100;
        return `| ${r.clip} | ${r.frames} | ${r.ffmpeg.toFixed(2)} s (${(r.frames / r.ffmpeg).toFixed(0)} fps) | ${r.dashseg.toFixed(2)} s (${(r.frames / r.dashseg).toFixed(0)} fps) | ${overhead >= 0 ? '+' : ''}${overhead.toFixed(1)}% | ${overheadNoHud >= 0 ? '+' : ''}${overheadNoHud.toFixed(1)}% |`;
      })
      .join('\n');
    writeSection(
      'io',
      `## Video I/O: \`dashseg annotate --model none\` against ffmpeg alone (\`npm run bench:io\`)

Median of ${RUNS} alternating runs each, x264 \`-preset ${PRESET} -crf ${CRF}\`, audio copied, 960x540 H.264 input.
ffmpeg alone decodes and encodes in one process; dashseg decodes to raw yuv420p frames in Node, draws the HUD, writes
per-frame JSON and encodes through a second ffmpeg. Target: dashseg adds less than 15%.

Machine: ${machineLine()}; ${binaryVersion(resolveBinary('ffmpeg')).split(' Copyright')[0]}.

| clip | frames | ffmpeg alone | dashseg annotate | added | added, --no-hud |
|---|---|---|---|---|---|
${table}`,
    );
    process.stdout.write(`${table}\nwritten to ${BENCHMARKS_DOC}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
