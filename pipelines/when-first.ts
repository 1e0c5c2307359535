import { Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';

/**
 * An operator built from the stream's first value: for stages that need to know something only the data says, such
 * as an encoder that needs the frame size of a live source nobody could probe beforehand. The first value and
 * every later one go through the operator `make` returns; an empty stream completes without making it.
 *
 * The operator may subscribe to its input late (the encoder does once its ffmpeg has started): values that arrive
 * before then wait, in order, rather than being lost. They are frames holding pool buffers, so the wait is bounded
 * by the pool.
 */
export function whenFirst<T, R>(make: (first: T) => OperatorFunction<T, R>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const early: T[] = [];
      let ended: { error: unknown } | 'complete' | undefined;
      let target: Subscriber<T> | undefined;
      let inner: Subscription | undefined;
      let failed = false;
      const values = new Observable<T>((s) => {
        target = s;
        for (const value of early.splice(0)) s.next(value);
        if (ended === 'complete') s.complete();
        else if (ended) s.error(ended.error);
        return () => {
          target = undefined;
        };
      });
      const end = (how: { error: unknown } | 'complete'): void => {
        if (!inner) {
          if (how === 'complete') subscriber.complete();
          else subscriber.error(how.error);
          return;
        }
        if (!target) {
          ended = how;
          return;
        }
        if (how === 'complete') target.complete();
        else target.error(how.error);
      };
      const outer = source.subscribe({
        next: (value) => {
          if (failed) return;
          if (!inner) {
            let operator: OperatorFunction<T, R>;
            try {
              operator = make(value);
            } catch (error) {
              failed = true;
              subscriber.error(error);
              return;
            }
            inner = values.pipe(operator).subscribe(subscriber);
          }
          if (target) target.next(value);
          else early.push(value);
        },
        error: (error: unknown) => end({ error }),
        complete: () => end('complete'),
      });
      return () => {
        outer.unsubscribe();
        inner?.unsubscribe();
      };
    });
}
