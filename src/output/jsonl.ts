import { closeSync, openSync, writeSync } from 'node:fs';
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { UserError, errorMessage } from '../errors';
import type { AnnotatedFrame } from '../pipeline/annotated-frame';
import { SCHEMA_VERSION, serializeFrameRecord, type FrameRecord } from './frame-record';

export interface JsonLinesOptions {
  /** A file path, or '-' for standard output. */
  target: string;
  /** The input as the user named it; copied into every record's `source`. */
  source: string;
  /** Report each line's latency from decode (the contract's optional `latencyMs`). */
  latency?: boolean;
}

export function frameRecord(item: AnnotatedFrame, source: string, latencyMs?: number): FrameRecord {
  const { frame } = item;
  const record: FrameRecord = {
    schemaVersion: SCHEMA_VERSION,
    source,
    frame: frame.index,
    pts: frame.pts,
    width: frame.width,
    height: frame.height,
    inferred: item.inferred,
    instances: [...item.instances].sort((a, b) => b.score - a.score),
  };
  if (latencyMs !== undefined) record.latencyMs = Math.round(latencyMs * 10) / 10;
  return record;
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      // A non-blocking stdout pipe that is full: wait for the reader rather than drop or split a line.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}

/**
 * Write one JSON line per frame (../shared/contracts/frame-json.md) and pass the frame on. Each line is written
 * whole with one system call as the frame goes by, so a reader of a pipe sees it at once and an interrupted run
 * leaves only whole lines.
 */
export function writeJsonLines(options: JsonLinesOptions): MonoTypeOperatorFunction<AnnotatedFrame> {
  return (source) =>
    new Observable<AnnotatedFrame>((subscriber) => {
      const toStdout = options.target === '-';
      let fd: number;
      try {
        fd = toStdout ? 1 : openSync(options.target, 'w');
      } catch (error) {
        subscriber.error(new UserError(`${options.target}: cannot write JSON (${errorMessage(error)})`));
        return undefined;
      }
      let open = true;
      const close = (): void => {
        if (open && !toStdout) closeSync(fd);
        open = false;
      };
      const subscription = source.subscribe({
        next: (item) => {
          const latency = options.latency ? performance.now() - item.frame.decodedAt : undefined;
          try {
            writeAll(fd, `${serializeFrameRecord(frameRecord(item, options.source, latency))}\n`);
          } catch (error) {
            close();
            item.frame.release();
            subscriber.error(new UserError(`${options.target}: cannot write JSON (${errorMessage(error)})`));
            return;
          }
          subscriber.next(item);
        },
        error: (error: unknown) => {
          close();
          subscriber.error(error);
        },
        complete: () => {
          close();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        close();
      };
    });
}
