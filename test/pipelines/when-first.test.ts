import { EMPTY, Observable, Subject, defer, map, of, timer, toArray, lastValueFrom, type OperatorFunction } from 'rxjs';
import { whenFirst } from '../../pipelines/when-first';

/** An operator that, like the encoder, subscribes to its input only a little later. */
function lateTagging(tag: string): OperatorFunction<number, string> {
  return (source) => new Observable<string>((subscriber) => {
    let subscription: { unsubscribe(): void } | undefined;
    const handle = setTimeout(() => {
      subscription = source.pipe(map((v) => `${tag}${v}`)).subscribe(subscriber);
    }, 10);
    return () => {
      clearTimeout(handle);
      subscription?.unsubscribe();
    };
  });
}

describe('whenFirst', () => {
  test('builds the operator from the first value and passes every value through it', async () => {
    const made: number[] = [];
    const out = await lastValueFrom(of(3, 4, 5).pipe(whenFirst((first: number) => {
      made.push(first);
      return map((v: number) => v * first);
    }), toArray()));
    expect(out).toEqual([9, 12, 15]);
    expect(made).toEqual([3]);
  });

  test('values that come before the operator subscribes wait for it, in order; completion waits too', async () => {
    const input = new Subject<number>();
    const result = lastValueFrom(input.pipe(whenFirst(() => lateTagging('v')), toArray()));
    input.next(1);
    input.next(2);
    input.complete();
    expect(await result).toEqual(['v1', 'v2']);
    const later = new Subject<number>();
    const mixed = lastValueFrom(later.pipe(whenFirst(() => lateTagging('w')), toArray()));
    later.next(1);
    await lastValueFrom(timer(30));
    later.next(2);
    later.complete();
    expect(await mixed).toEqual(['w1', 'w2']);
  });

  test('an empty stream completes without making the operator; errors pass through', async () => {
    const make = jest.fn(() => map((v: number) => v));
    expect(await lastValueFrom(EMPTY.pipe(whenFirst(make), toArray()))).toEqual([]);
    expect(make).not.toHaveBeenCalled();
    await expect(lastValueFrom(defer(() => { throw new Error('boom'); }).pipe(whenFirst(make)))).rejects.toThrow('boom');
    const failing = new Subject<number>();
    const result = lastValueFrom(failing.pipe(whenFirst(() => lateTagging('x')), toArray()));
    failing.next(1);
    failing.error(new Error('source failed'));
    await expect(result).rejects.toThrow('source failed');
  });

  test('a make that throws is an error on the stream', async () => {
    await expect(lastValueFrom(of(1, 2).pipe(whenFirst(() => { throw new Error('no encoder for you'); })))).rejects.toThrow('no encoder for you');
  });
});
