/**
 * The part of the zip format that torch.save's archives need, read in place: the end-of-central-directory record
 * (found by scanning back over a trailing comment of up to 64 KiB), its zip64 locator and record (archives past
 * 4 GiB or 65535 entries), and each central-directory entry (name, method, sizes, zip64 extra field) with its local
 * header, which says where the entry's data starts. Entries are located, not decompressed: torch.save stores them
 * uncompressed, so an entry's data is a view of the file's own bytes and no zip library (nor inflate) is needed;
 * the method is reported so that the caller can refuse a compressed entry. CRCs, data descriptors, encryption and
 * multi-disk archives are not read.
 */

export interface ZipEntry {
  name: string;
  /** 0 = stored; anything else is compressed, which torch never writes. */
  method: number;
  dataOffset: number;
  size: number;
}

/** Find the entries through the central directory: torch's local headers carry size 0 (data descriptors follow the
 * data), and its local extra field pads data to 64 bytes, so only the central directory has the sizes (spec §10.2). */
export function readZipEntries(bytes: Uint8Array, fail: (message: string) => never): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number): number => view.getUint16(at, true);
  const u32 = (at: number): number => view.getUint32(at, true);
  const u64 = (at: number): number => {
    const value = view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail('zip64 field out of range');
    return Number(value);
  };
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('truncated zip checkpoint: no end-of-central-directory record (the file was cut short)');
  let entryCount = u16(eocd + 10);
  let directorySize = u32(eocd + 12);
  let directoryOffset = u32(eocd + 16);
  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || u32(locator) !== 0x07064b50) fail('zip64 end-of-central-directory locator missing');
    const record = u64(locator + 8);
    if (record + 56 > bytes.length || u32(record) !== 0x06064b50) fail('zip64 end-of-central-directory record missing');
    entryCount = u64(record + 32);
    directorySize = u64(record + 40);
    directoryOffset = u64(record + 48);
  }
  if (directoryOffset + directorySize > bytes.length) {
    fail('truncated zip checkpoint: central directory lies past the end of the file');
  }

  const decoder = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let at = directoryOffset;
  for (let i = 0; i < entryCount; i++) {
    if (at + 46 > bytes.length || u32(at) !== 0x02014b50) fail(`corrupt zip central directory (entry ${i} of ${entryCount})`);
    const method = u16(at + 10);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let localOffset = u32(at + 42);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // Zip64 extra field: the 64-bit values appear only for the fields that hold 0xffffffff, in this order.
    for (let extra = at + 46 + nameLength, end = extra + extraLength; extra + 4 <= end; ) {
      const id = u16(extra);
      const length = u16(extra + 2);
      if (id === 0x0001) {
        let field = extra + 4;
        if (size === 0xffffffff) {
          size = u64(field);
          field += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(field);
          field += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(field);
      }
      extra += 4 + length;
    }
    at += 46 + nameLength + extraLength + commentLength;
    if (localOffset + 30 > bytes.length || u32(localOffset) !== 0x04034b50) fail(`corrupt zip: no local header for ${name}`);
    const dataOffset = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28);
    // A compressed entry is refused only when it is read: elsewhere in the archive it is harmless.
    const stored = method === 0 ? size : compressedSize;
    if (dataOffset + stored > bytes.length) fail(`truncated zip checkpoint: ${name} ends past the end of the file`);
    entries.set(name, { name, method, dataOffset, size: stored });
  }
  return entries;
}
