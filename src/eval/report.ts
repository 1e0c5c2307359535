/** The eval report as a table for people and as JSON for scripts. */
import type { TrackingMetrics } from '../track/metrics';
import { SUMMARY_NAMES, type IouType } from './coco-eval';
import { TRACKING_IOU, type EvalReport } from './evaluate';

const IOU_TYPES: readonly IouType[] = ['segm', 'bbox'];
const TABLE_COLUMNS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100'] as const;

/** Three decimals as pycocotools prints them; undefined values (-1 or NaN) as a dash. */
function score(value: number): string {
  return value === -1 || Number.isNaN(value) ? '-' : value.toFixed(3);
}

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ').trimEnd();
}

export function formatReport(report: EvalReport): string {
  const lines: string[] = [];
  const types = IOU_TYPES.filter((type) => report.coco[type] !== undefined);
  const what = report.mode === 'clip' ? `${report.images} annotated frames` : `${report.images} images`;
  const ignored = report.ignoredDetections > 0 ? ` (${report.ignoredDetections} more of classes the ground truth lacks, left out)` : '';
  const regions = report.ignoreRegions > 0 ? ` (and ${report.ignoreRegions} crowd or ignore regions)` : '';
  lines.push(`${what}, ${report.categories.length} categories, ${report.groundTruths} ground-truth objects${regions}, ${report.detections} predictions${ignored}`);
  lines.push('');

  const widths = [6, ...TABLE_COLUMNS.map(() => 6)];
  lines.push(row(['', ...TABLE_COLUMNS], widths));
  for (const type of types) {
    const stats = report.coco[type]?.stats;
    if (stats) lines.push(row([type, ...TABLE_COLUMNS.map((name) => score(stats[name]))], widths));
  }

  lines.push('');
  const classWidth = Math.max(8, ...report.categories.map((category) => category.name.length + 1));
  const headers = ['class', 'id', 'gt', 'pred', ...types.flatMap((type) => [`${type} AP50`, `${type} AP`])];
  const classWidths = [classWidth, 4, 6, 6, ...types.flatMap(() => [9, 9])];
  lines.push(row(headers, classWidths));
  const first = report.coco[types[0] as IouType];
  for (const [i, category] of (first?.perCategory ?? []).entries()) {
    const cells = [category.name, String(category.id), String(category.groundTruths), String(category.detections)];
    for (const type of types) {
      const entry = report.coco[type]?.perCategory[i];
      cells.push(score(entry?.AP50 ?? -1), score(entry?.AP ?? -1));
    }
    lines.push(row(cells, classWidths));
  }

  if (report.tracking) {
    const t = report.tracking;
    lines.push('');
    lines.push(`tracking (class-agnostic, mask IoU >= ${TRACKING_IOU}): MOTA ${score(t.mota)}  IDF1 ${score(t.idf1)}  IDP ${score(t.idp)}  IDR ${score(t.idr)}`);
    lines.push(
      `  objects ${t.truths}  predictions ${t.hypotheses}  matches ${t.matches}  misses ${t.misses}  false positives ${t.falsePositives}` +
        `  ID switches ${t.idSwitches}  fragmentations ${t.fragmentations}  mean IoU ${score(t.meanIoU)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** NaN (undefined tracking ratios) becomes null: JSON has no NaN, and a planner must not read it as a number. */
function finiteOrNull(metrics: TrackingMetrics): Record<string, number | null> {
  return Object.fromEntries(Object.entries(metrics).map(([key, value]) => [key, Number.isFinite(value) ? value : null]));
}

/** Everything in the report; the COCO numbers keep pycocotools' -1 for "no ground truth". */
export function reportJson(report: EvalReport): Record<string, unknown> {
  const coco = Object.fromEntries(
    IOU_TYPES.filter((type) => report.coco[type] !== undefined).map((type) => {
      const scores = report.coco[type] as NonNullable<EvalReport['coco'][IouType]>;
      return [type, { ...scores.stats, stats: SUMMARY_NAMES.map((name) => scores.stats[name]), perCategory: scores.perCategory }];
    }),
  );
  return {
    mode: report.mode,
    gt: report.gt,
    pred: report.pred,
    images: report.images,
    categories: report.categories,
    groundTruths: report.groundTruths,
    ignoreRegions: report.ignoreRegions,
    detections: report.detections,
    ignoredDetections: report.ignoredDetections,
    ...coco,
    ...(report.tracking ? { tracking: { iouThreshold: TRACKING_IOU, classAgnostic: true, ...finiteOrNull(report.tracking) } } : {}),
  };
}
