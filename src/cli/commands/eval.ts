import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { UserError, errorMessage } from '../../errors';
import type { IouType } from '../../eval/coco-eval';
import { evaluateFiles } from '../../eval/evaluate';
import { formatReport, reportJson } from '../../eval/report';
import { log } from '../../terminal/log';
import { checkOutputPath } from '../../video/encode';
import type { CliContext } from '../context';

export interface EvalArgs {
  gt: string;
  pred: string;
  json?: string;
  'iou-type': string;
  'score-ignored': boolean;
}

export function evalBuilder(yargs: Argv): Argv<EvalArgs> {
  return yargs
    .option('gt', {
      type: 'string',
      demandOption: true,
      describe: 'ground truth: a COCO instances JSON file (still images) or frame JSON lines with object ids (a clip)',
    })
    .option('pred', {
      type: 'string',
      demandOption: true,
      describe: 'predictions: `dashseg detect --json` lines (or a COCO results list) for images, `dashseg annotate --json` lines for a clip',
    })
    .option('json', { type: 'string', describe: 'write every number as JSON to this file, or - for stdout (the table then goes to stderr)' })
    .option('iou-type', { type: 'string', choices: ['segm', 'bbox', 'both'], default: 'both', describe: 'mask AP, box AP or both' })
    .option('score-ignored', {
      type: 'boolean',
      default: false,
      describe: 'score objects the ground truth marks "ignore" (dashseg synth: under 100 visible pixels) like any other, not as ignore regions',
    }) as unknown as Argv<EvalArgs>;
}

export async function evalCommand(args: EvalArgs, context: CliContext): Promise<number> {
  const iouTypes: IouType[] = args['iou-type'] === 'both' ? ['segm', 'bbox'] : [args['iou-type'] as IouType];
  if (args.json !== undefined) checkOutputPath(args.json);
  const report = evaluateFiles({ gt: args.gt, pred: args.pred, iouTypes, scoreIgnored: args['score-ignored'] });
  const table = formatReport(report);
  if (args.json === '-') {
    context.stderr.write(table);
    context.stdout.write(`${JSON.stringify(reportJson(report), null, 2)}\n`);
    return 0;
  }
  context.stdout.write(table);
  if (args.json !== undefined) {
    try {
      writeFileSync(args.json, `${JSON.stringify(reportJson(report), null, 2)}\n`);
    } catch (error) {
      throw new UserError(`${args.json}: cannot write (${errorMessage(error)})`);
    }
    log(context, `wrote ${args.json}`);
  }
  return 0;
}
