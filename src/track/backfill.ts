/**
 * Confirmed tracks reported from their first detection, not from the frame that confirmed them.
 *
 * The tracker keeps a new track tentative until it has `minHits` matches, so that one spurious detection never
 * becomes an object; without hindsight, the frames before confirmation go unreported and every object appears
 * `minHits − 1` inferred frames late (with `--every 3` and the default 3 hits, six frames: a quarter of a second).
 * When the output can wait for that decision, as when annotating a recorded video, this stage holds each frame
 * until every tentative track in it is decided: confirmed (its instances are kept) or dropped at its first miss
 * (they are left out). The tracker must report tentative tracks (`reportTentative`) for this to see them.
 *
 * Ids are handed out here, in the order objects first appear in the output, so consumers still see 1, 2, 3, …
 * and no number is spent on a track that never was one. The stage holds at most `maxHeld` frames: past that the
 * oldest leaves undecided, without its tentative instances, as it would without this stage. A caller whose frames
 * hold pooled buffers sets it below the pool's size, so that the decoder is never left without a buffer for the
 * frame that would decide them.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { TrackOutput } from './operator';
import type { TrackInput, TrackedInstance } from './tracker';

/** A frame whose tracks are decided: the item as it came in, with the instances to report on it. */
export interface DecidedFrame<T> {
  item: T;
  instances: TrackedInstance[];
}

export class TentativeBackfill<T> {
  private readonly held: DecidedFrame<T>[] = [];
  /** Tracker ids seen confirmed. */
  private readonly confirmed = new Set<number>();
  /** Tracker ids in the newest frame: a tentative track missing from it was dropped. */
  private newest = new Set<number>();
  /** Tracker id → the id reported for it. */
  private readonly ids = new Map<number, number>();
  private nextId = 1;

  constructor(readonly maxHeld: number) {
    if (!(maxHeld >= 0 && (Number.isInteger(maxHeld) || maxHeld === Infinity))) {
      throw new RangeError(`backfill: maxHeld must be a whole number >= 0 or Infinity, got ${maxHeld}`);
    }
  }

  /** Frames held, waiting for a tentative track's fate. */
  get size(): number {
    return this.held.length;
  }

  /**
   * Takes the tracker's next frame (tentative instances included) and returns the frames that are now decided,
   * oldest first, with only confirmed tracks' instances and their reported ids.
   */
  push(item: T, instances: TrackedInstance[]): DecidedFrame<T>[] {
    for (const instance of instances) if (instance.state === 'confirmed') this.confirmed.add(instance.id);
    this.newest = new Set(instances.map((instance) => instance.id));
    this.held.push({ item, instances });
    const out: DecidedFrame<T>[] = [];
    while (this.held.length > 0 && (this.held.length > this.maxHeld || this.decided(this.held[0].instances))) {
      out.push(this.release());
    }
    return out;
  }

  /** The held frames, at the end of the stream: tracks still tentative never were confirmed. */
  flush(): DecidedFrame<T>[] {
    const out: DecidedFrame<T>[] = [];
    while (this.held.length > 0) out.push(this.release());
    return out;
  }

  /** Hands back the held items without reporting them (the stream was cut off). */
  drain(): T[] {
    return this.held.splice(0).map(({ item }) => item);
  }

  private decided(instances: readonly TrackedInstance[]): boolean {
    return instances.every((instance) => this.confirmed.has(instance.id) || !this.newest.has(instance.id));
  }

  private release(): DecidedFrame<T> {
    const { item, instances } = this.held.shift() as DecidedFrame<T>;
    const kept = instances
      .filter((instance) => this.confirmed.has(instance.id))
      .map((instance) => ({ ...instance, id: this.reportedId(instance.id), state: 'confirmed' as const }));
    return { item, instances: kept };
  }

  private reportedId(trackerId: number): number {
    let id = this.ids.get(trackerId);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(trackerId, id);
    }
    return id;
  }
}

/**
 * `TentativeBackfill` over a tracked stream (after `trackInstances` with `reportTentative: true`). Frames held when
 * the stream completes are emitted then; when it errors or is unsubscribed, they go to `discard` (for example to
 * give their buffers back), since nothing downstream will.
 */
export function backfillTentative<T extends TrackInput>(
  maxHeld: number,
  discard: (input: T) => void = () => undefined,
): OperatorFunction<TrackOutput<T>, TrackOutput<T>> {
  return (source) =>
    new Observable<TrackOutput<T>>((subscriber) => {
      let backfill: TentativeBackfill<T>;
      try {
        backfill = new TentativeBackfill<T>(maxHeld);
      } catch (error) {
        subscriber.error(error);
        return undefined;
      }
      const emit = (frames: DecidedFrame<T>[]): void => {
        for (const { item, instances } of frames) subscriber.next({ input: item, instances });
      };
      const subscription = source.subscribe({
        next: ({ input, instances }) => emit(backfill.push(input, instances)),
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          emit(backfill.flush());
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        for (const input of backfill.drain()) discard(input);
      };
    });
}
