import { closeSync, openSync, writeSync } from 'node:fs';
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { UserError, errorMessage } from '../errors';
import type { AnnotatedFrame, FrameInstance } from '../track/annotated-frame';
import { SCHEMA_VERSION, serializeFrameRecord, type FrameRecord, type InstanceRecord } from './frame-record';
import { encodeMaskCrop } from './rle';

export interface JsonLinesOptions {
  /** A file path, or '-' for standard output. */
  target: string;
  /** The input as the user named it; copied into every record's `source`. */
  source: string;
  /** Report each line's latency from decode (the contract's optional `latencyMs`). */
  latency?: boolean;
}

/** An instance as the contract's record: the mask pasted at frame size and COCO-RLE encoded. */
export function instanceRecord(instance: FrameInstance, width: number, height: number): InstanceRecord {
  const record: InstanceRecord = {
    id: instance.id,
    classId: instance.classId,
    label: instance.label,
    score: instance.score,
    box: [instance.box[0], instance.box[1], instance.box[2], instance.box[3]],
    mask: encodeMaskCrop(instance.mask, height, width),
  };
  // A tenth of a pixel per second is finer than any detector's jitter; more digits would only be noise.
  if (instance.velocity) record.velocity = instance.velocity.map((v) => Math.round(v * 10) / 10);
  if (instance.ignore) record.ignore = true;
  return record;
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
    instances: item.instances.map((instance) => instanceRecord(instance, frame.width, frame.height)).sort((a, b) => b.score - a.score),
  };
  if (latencyMs !== undefined) record.latencyMs = Math.round(latencyMs * 10) / 10;
  if (item.gapSeconds !== undefined) record.gapSeconds = Math.round(item.gapSeconds * 1000) / 1000;
  if (item.dropped) record.dropped = item.dropped;
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
 * A JSON Lines file or stdout. Each record is written whole with one system call, so a reader of a pipe sees it at
 * once and an interrupted run leaves only whole lines.
 */
export class JsonLinesWriter {
  private readonly fd: number;
  private readonly toStdout: boolean;
  private open = true;

  constructor(readonly target: string) {
    this.toStdout = target === '-';
    try {
      this.fd = this.toStdout ? 1 : openSync(target, 'w');
    } catch (error) {
      throw new UserError(`${target}: cannot write JSON (${errorMessage(error)})`);
    }
  }

  write(record: FrameRecord): void {
    if (!this.open) throw new Error(`${this.target}: written after close`);
    try {
      writeAll(this.fd, `${serializeFrameRecord(record)}\n`);
    } catch (error) {
      throw new UserError(`${this.target}: cannot write JSON (${errorMessage(error)})`);
    }
  }

  close(): void {
    if (this.open && !this.toStdout) closeSync(this.fd);
    this.open = false;
  }
}

/** Write one JSON line per frame (../shared/contracts/frame-json.md) and pass the frame on. */
export function writeJsonLines<T extends AnnotatedFrame = AnnotatedFrame>(options: JsonLinesOptions): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let writer: JsonLinesWriter;
      try {
        writer = new JsonLinesWriter(options.target);
      } catch (error) {
        subscriber.error(error);
        return undefined;
      }
      const subscription = source.subscribe({
        next: (item) => {
          const latency = options.latency ? performance.now() - item.frame.decodedAt : undefined;
          try {
            writer.write(frameRecord(item, options.source, latency));
          } catch (error) {
            writer.close();
            item.frame.release();
            subscriber.error(error);
            return;
          }
          subscriber.next(item);
        },
        error: (error: unknown) => {
          writer.close();
          subscriber.error(error);
        },
        complete: () => {
          writer.close();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        writer.close();
      };
    });
}
