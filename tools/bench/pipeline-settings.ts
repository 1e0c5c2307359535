/**
 * What `npm run bench:pipeline` runs with: rounds, the CLI options annotate is given and the instance load, in one
 * place because the measurements use them and the section's text states them.
 */

export const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** The CLI's defaults for a model with no operating point of its own, as here: `--score 0.5`; x264 `-preset veryfast -crf 23`. */
export const SCORE = 0.5;
export const PRESET = 'veryfast';
export const CRF = 23;
/** Instances per frame in the non-model stage costs, and what the ResNet-18 model is calibrated to detect. */
export const INSTANCES = 20;
export const COMMAND = 'npm run bench:pipeline';
