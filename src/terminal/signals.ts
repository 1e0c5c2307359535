import { Subject, type Observable } from 'rxjs';

/**
 * The first SIGINT or SIGTERM asks the running pipeline to stop and finish its outputs; a second one means the
 * user is done waiting and exits at once.
 */
export function stopOnSignals(onFirst: (signal: NodeJS.Signals) => void): { stop: Observable<NodeJS.Signals>; dispose: () => void } {
  const stop = new Subject<NodeJS.Signals>();
  let received = 0;
  const handler = (signal: NodeJS.Signals): void => {
    received += 1;
    if (received === 1) {
      onFirst(signal);
      stop.next(signal);
      return;
    }
    process.exit(130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stop,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      stop.complete();
    },
  };
}
