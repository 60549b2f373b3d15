/**
 * Tiny valid cover pictures: a PNG generated from a colour (so every album can have its own cover) and an embedded
 * 16×16 baseline JPEG. Both are a few hundred bytes, small enough for benchmark libraries.
 */
import { concatBytes } from "./bytes.ts";
import type { CoverImage } from "./tags.ts";

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/**
 * A size×size RGB PNG (PNG spec, ISO/IEC 15948): a diagonal gradient between two colours derived from `rgb`.
 * The zlib stream uses stored (uncompressed) deflate blocks (RFC 1951 §3.2.4), which keeps this pure and tiny.
 */
export function gradientPng(rgb: number, size = 8): CoverImage {
  const [r, g, b] = [(rgb >>> 16) & 0xff, (rgb >>> 8) & 0xff, rgb & 0xff];
  const rowBytes = 1 + size * 3;
  const raw = new Uint8Array(rowBytes * size);
  for (let y = 0; y < size; y++) {
    raw[y * rowBytes] = 0; // filter type None (PNG §9.2)
    for (let x = 0; x < size; x++) {
      const shade = (x + y) / (2 * (size - 1) || 1);
      const p = y * rowBytes + 1 + x * 3;
      raw[p] = Math.round(r * (1 - shade / 2));
      raw[p + 1] = Math.round(g * (1 - shade / 2));
      raw[p + 2] = Math.round(b * (1 - shade / 2));
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, size);
  view.setUint32(4, size);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (truecolour), deflate, adaptive filter, no interlace
  const data = concatBytes([PNG_SIGNATURE, chunk("IHDR", header), chunk("IDAT", zlibStored(raw)), chunk("IEND", new Uint8Array(0))]);
  return { mime: "image/png", data, width: size, height: size, depth: 24 };
}

/** A 16×16 solid blue baseline JFIF JPEG (223 bytes), made once with an encoder and embedded here as bytes. */
const JPEG_16X16_BASE64 =
  "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgUFBcUFxsbGxsbGyAeICEhISAgICAhISEkJCQqKiokJCQhISQk" +
  "KCgqKi4vLisrKisvLzIyMjw8OTlGRkhWVmf/xABLAAEBAAAAAAAAAAAAAAAAAAAABQEBAAAAAAAAAAAAAAAAAAAABhABAAAAAAAAAAAAAAAA" +
  "AAAAABEBAAAAAAAAAAAAAAAAAAAAAP/AABEIABAAEAMBIgACEQADEQD/2gAMAwEAAhEDEQA/AIIB2Ov/2Q==";

export function tinyJpeg(): CoverImage {
  return { mime: "image/jpeg", data: Uint8Array.from(atob(JPEG_16X16_BASE64), (c) => c.charCodeAt(0)), width: 16, height: 16, depth: 24 };
}

/** PNG §5.3: length, type, data, CRC-32 over type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(12 + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, data.length);
  bytes.set(new TextEncoder().encode(type), 4);
  bytes.set(data, 8);
  view.setUint32(8 + data.length, Bun.hash.crc32(bytes.subarray(4, 8 + data.length)));
  return bytes;
}

/** RFC 1950 zlib stream holding RFC 1951 stored blocks (at most 65535 bytes each) and the Adler-32 trailer. */
function zlibStored(data: Uint8Array): Uint8Array {
  const blocks: Uint8Array[] = [Uint8Array.of(0x78, 0x01)]; // CM=8 (deflate), 32K window, check bits, no dictionary
  for (let start = 0; start < data.length || start === 0; start += 65535) {
    const piece = data.subarray(start, start + 65535);
    const isFinal = start + 65535 >= data.length;
    const head = Uint8Array.of(isFinal ? 1 : 0, piece.length & 0xff, piece.length >>> 8, ~piece.length & 0xff, (~piece.length >>> 8) & 0xff);
    blocks.push(head, piece);
    if (isFinal) break;
  }
  const trailer = new Uint8Array(4);
  new DataView(trailer.buffer).setUint32(0, adler32(data));
  blocks.push(trailer);
  return concatBytes(blocks);
}

function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

