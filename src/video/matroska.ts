import type { PixelFormat } from './frame';

/**
 * The smallest Matroska writer that carries raw video frames with exact timestamps into ffmpeg's stdin.
 *
 * A raw pipe (`-f rawvideo`) has no timestamps, so ffmpeg would assume a constant rate; wrapping each frame in a
 * Matroska block keeps variable-frame-rate timing and gaps (dropped live frames) intact at the cost of ~30 bytes a
 * frame. The segment and clusters have unknown size, which Matroska allows for live streams, so nothing is ever
 * seeked back to.
 */

const UNKNOWN_SIZE = Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** Timestamps are written in microseconds: exact for every common frame rate's pts to well below a frame. */
export const TIMESTAMP_SCALE_NS = 1000;

function idBytes(id: number): Uint8Array {
  const bytes: number[] = [];
  for (let rest = id; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.from(bytes);
}

/** EBML variable-length size: the count of leading zero bits in the first byte gives the length. */
export function sizeBytes(size: number): Uint8Array {
  for (let length = 1; length <= 8; length++) {
    // All-ones is reserved for "unknown size", hence the - 1.
    if (size < 2 ** (7 * length) - 1) {
      const bytes = new Uint8Array(length);
      let rest = size;
      for (let i = length - 1; i >= 0; i--) {
        bytes[i] = rest % 256;
        rest = Math.floor(rest / 256);
      }
      bytes[0] = (bytes[0] as number) | (0x80 >> (length - 1));
      return bytes;
    }
  }
  throw new RangeError(`element too large for EBML: ${size}`);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function element(id: number, payload: Uint8Array): Uint8Array {
  return concat([idBytes(id), sizeBytes(payload.length), payload]);
}

function uint(id: number, value: number): Uint8Array {
  const bytes: number[] = [];
  for (let rest = value; rest > 0 || bytes.length === 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return element(id, Uint8Array.from(bytes));
}

function ascii(id: number, text: string): Uint8Array {
  return element(id, Uint8Array.from(text, (c) => c.charCodeAt(0)));
}

const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  CodecID: 0x86,
  DefaultDuration: 0x23e383,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  ColourSpace: 0x2eb524,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
} as const;

/** The FourCC that ffmpeg's Matroska reader maps back to each pixel format. */
const COLOUR_SPACE: Record<PixelFormat, string> = { yuv420p: 'I420', rgba: 'RGBA' };

export interface MatroskaVideoHeader {
  width: number;
  height: number;
  /** Default rgba. */
  format?: PixelFormat;
  /** Nominal frame duration in seconds: lets ffmpeg report the right frame rate for constant-rate sources. */
  frameDuration?: number;
}

/** EBML header, segment start, info and the single raw video track. */
export function matroskaHeader(header: MatroskaVideoHeader): Uint8Array {
  const ebml = element(
    ID.EBML,
    concat([
      uint(ID.EBMLVersion, 1),
      uint(ID.EBMLReadVersion, 1),
      uint(ID.EBMLMaxIDLength, 4),
      uint(ID.EBMLMaxSizeLength, 8),
      ascii(ID.DocType, 'matroska'),
      uint(ID.DocTypeVersion, 4),
      uint(ID.DocTypeReadVersion, 2),
    ]),
  );
  const info = element(
    ID.Info,
    concat([uint(ID.TimestampScale, TIMESTAMP_SCALE_NS), ascii(ID.MuxingApp, 'dashseg'), ascii(ID.WritingApp, 'dashseg')]),
  );
  const trackFields = [
    uint(ID.TrackNumber, 1),
    uint(ID.TrackUID, 1),
    uint(ID.TrackType, 1),
    ascii(ID.CodecID, 'V_UNCOMPRESSED'),
  ];
  if (header.frameDuration !== undefined && header.frameDuration > 0) {
    trackFields.push(uint(ID.DefaultDuration, Math.round(header.frameDuration * 1e9)));
  }
  trackFields.push(
    element(
      ID.Video,
      concat([uint(ID.PixelWidth, header.width), uint(ID.PixelHeight, header.height), ascii(ID.ColourSpace, COLOUR_SPACE[header.format ?? 'rgba'])]),
    ),
  );
  const tracks = element(ID.Tracks, element(ID.TrackEntry, concat(trackFields)));
  return concat([ebml, idBytes(ID.Segment), UNKNOWN_SIZE, info, tracks]);
}

/**
 * Everything that precedes a frame's pixels: a cluster holding one keyframe block. One cluster a frame keeps the
 * block's 16-bit relative timestamp at 0, so any gap between frames is representable.
 */
export function matroskaFramePrefix(timestampSeconds: number, byteLength: number): Uint8Array {
  const timestamp = Math.max(0, Math.round((timestampSeconds * 1e9) / TIMESTAMP_SCALE_NS));
  // Track number 1 as a 1-byte vint, relative timestamp 0, flags: keyframe.
  const blockHeader = Uint8Array.of(0x81, 0x00, 0x00, 0x80);
  return concat([
    idBytes(ID.Cluster),
    UNKNOWN_SIZE,
    uint(ID.Timestamp, timestamp),
    idBytes(ID.SimpleBlock),
    sizeBytes(blockHeader.length + byteLength),
    blockHeader,
  ]);
}
