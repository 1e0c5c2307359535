import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FramePool } from './frame-pool';

/** Where ffmpeg will listen (`unix:` output with `-listen 1`); short enough for the 108-byte socket path limit. */
export function rawFrameSocketPath(): string {
  return join(tmpdir(), `dashseg-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
}

export interface RawFrameSocketHandlers {
  /** A whole frame arrived in `buffer` (from the pool); the receiver owns it until it releases it to the pool. */
  frame(buffer: Uint8Array): void;
  /** ffmpeg closed the stream. */
  end(): void;
  error(error: Error): void;
  /** Whether to keep trying to connect: false once ffmpeg has exited or the decode was cancelled. */
  shouldRetry(): boolean;
  /** A whole frame arrived while every pool buffer was out and was thrown away (`whenFull: 'drop'` only). */
  dropped?(): void;
}

export interface RawFrameSocketOptions {
  /** How long to wait before connecting again while ffmpeg is not listening yet. */
  retryMs?: number;
  /**
   * What to do when every pool buffer is out. 'wait' (the default) stops reading, so ffmpeg blocks: right for a
   * file, whose frames wait on disk. 'drop' keeps reading into a scratch buffer and throws those frames away: a live
   * source cannot wait, and a blocked ffmpeg would lose the connection or fall behind real time for good.
   */
  whenFull?: 'wait' | 'drop';
}

/**
 * Read fixed-size raw frames from ffmpeg through a unix socket, straight into pooled buffers.
 *
 * A child's stdout pipe hands Node a fresh 64 KiB buffer for every read: at 25 frames a second of 960x540 that is
 * 20 MB/s of garbage, and the full collections it provokes cost more than the reading itself. A socket opened
 * with `onread` reads into memory we choose, so each frame's bytes land once, in place, in the buffer the frame
 * will be handed downstream in. When the pool is empty the socket is paused: ffmpeg blocks on a full socket
 * buffer, which is the decoder's backpressure (unless `whenFull` is 'drop', for live sources).
 */
export class RawFrameSocket {
  private socket: Socket | undefined;
  /** The pool buffer the frame being received goes into, and how much of it has arrived. */
  private current: Uint8Array | undefined;
  private filled = 0;
  /**
   * Node asks for the next read's buffer right after each read, even when we pause. If the pool is empty at that
   * moment the next read (the first after resuming) lands here and is copied into a pool buffer; every later read
   * goes straight to the pool buffer again.
   */
  private spill: Uint8Array | undefined;
  /** The frame being received is going to the spill and will be dropped (`whenFull: 'drop'`). */
  private dropping = false;
  private closed = false;
  private readonly retryMs: number;
  private readonly whenFull: 'wait' | 'drop';

  constructor(
    private readonly path: string,
    private readonly pool: FramePool,
    private readonly handlers: RawFrameSocketHandlers,
    options: RawFrameSocketOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 10;
    this.whenFull = options.whenFull ?? 'wait';
  }

  /** True once connected to ffmpeg: from then on the stream's own end says when the frames are over. */
  get connected(): boolean {
    return this.socket !== undefined;
  }

  connect(): void {
    if (this.closed) return;
    const socket = connect({
      path: this.path,
      onread: {
        buffer: () => this.nextReadBuffer(),
        callback: (bytes: number, buffer: Uint8Array) => this.received(bytes, buffer),
      },
    });
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      this.socket = socket;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      // ffmpeg listens only once it has opened its input: until then there is no socket, or nobody accepting.
      if (!connected && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) {
        if (this.handlers.shouldRetry()) setTimeout(() => this.connect(), this.retryMs);
        return;
      }
      if (!this.closed) this.handlers.error(error);
    });
    socket.on('end', () => {
      if (!this.closed) this.handlers.end();
    });
  }

  private nextReadBuffer(): Uint8Array {
    // A frame is kept or dropped as a whole: once its first bytes went to the spill, the rest follow them.
    if (!this.dropping) this.current ??= this.closed ? undefined : this.pool.acquire();
    if (this.current) return this.current.subarray(this.filled);
    if (this.whenFull === 'drop') this.dropping = true;
    this.spill ??= new Uint8Array(this.pool.byteLength);
    return this.spill.subarray(this.filled);
  }

  private received(bytes: number, buffer: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.dropping) return this.receivedDropped(bytes);
    if (buffer.buffer === this.spill?.buffer) {
      this.current ??= this.pool.acquire();
      if (!this.current) {
        // Only possible if a release was taken back before this read: keep the bytes in the spill and wait.
        this.filled += bytes;
        return this.waitForBuffer();
      }
      this.current.set(this.spill.subarray(0, this.filled + bytes), 0);
    }
    this.filled += bytes;
    const current = this.current as Uint8Array;
    if (this.filled < current.byteLength) return true;
    this.current = undefined;
    this.filled = 0;
    this.handlers.frame(current);
    if (this.closed) return false;
    this.current = this.pool.acquire();
    return this.current || this.whenFull === 'drop' ? true : this.waitForBuffer();
  }

  private receivedDropped(bytes: number): boolean {
    // Reads never run past the end of a frame: each is offered only the rest of the frame's buffer.
    this.filled += bytes;
    if (this.filled < this.pool.byteLength) return true;
    this.filled = 0;
    this.dropping = false;
    this.handlers.dropped?.();
    return !this.closed;
  }

  private waitForBuffer(): false {
    this.pool.whenAvailable(() => {
      if (this.closed) return;
      this.socket?.resume();
    });
    return false;
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    if (this.current) this.pool.release(this.current);
    this.current = undefined;
    rmSync(this.path, { force: true });
  }
}
