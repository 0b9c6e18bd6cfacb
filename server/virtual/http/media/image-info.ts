/** What an uploaded image is, read from its header bytes (never from its file name). */
export type ImageInfo =
  | { format: 'png'; width: number; height: number; bitDepth: number; colorType: number }
  | { format: 'gif'; width: number; height: number }
  | { format: 'jpeg' | 'webp' | 'bmp' };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** PNG colour type 6: truecolour with alpha (RGBA), the kind Yoto wants for icons. */
export const PNG_RGBA = 6;

export function readImageInfo(bytes: Uint8Array): ImageInfo | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length >= 26 && buffer.subarray(0, 8).equals(PNG_SIGNATURE) && buffer.toString('latin1', 12, 16) === 'IHDR') {
    return { format: 'png', width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20), bitDepth: buffer[24]!, colorType: buffer[25]! };
  }
  const gifVersion = buffer.toString('latin1', 0, 6);
  if (buffer.length >= 10 && (gifVersion === 'GIF87a' || gifVersion === 'GIF89a')) {
    return { format: 'gif', width: buffer.readUInt16LE(6), height: buffer.readUInt16LE(8) };
  }
  if (buffer.length >= 3 && buffer[0] === 0xff && buffer[1] === 0xd8 && buffer[2] === 0xff) return { format: 'jpeg' };
  if (buffer.length >= 12 && buffer.toString('latin1', 0, 4) === 'RIFF' && buffer.toString('latin1', 8, 12) === 'WEBP') return { format: 'webp' };
  if (buffer.length >= 2 && buffer.toString('latin1', 0, 2) === 'BM') return { format: 'bmp' };
  return undefined;
}

export const IMAGE_CONTENT_TYPES: Record<ImageInfo['format'], string> = {
  png: 'image/png',
  gif: 'image/gif',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  bmp: 'image/bmp',
};

/**
 * Why Yoto would refuse this icon without autoConvert, or undefined if it is
 * fine: it must be a 16x16 PNG (8-bit RGBA) or GIF.
 */
export function strictIconProblem(info: ImageInfo | undefined): string | undefined {
  if (!info) return 'the upload is not an image (PNG, GIF, JPEG, WebP or BMP)';
  if (info.format !== 'png' && info.format !== 'gif') {
    return `a ${info.format.toUpperCase()} icon needs autoConvert=true; without it only 16x16 PNG or GIF is accepted`;
  }
  if (info.width !== 16 || info.height !== 16) {
    return `the icon is ${info.width}x${info.height}; without autoConvert=true it must be exactly 16x16`;
  }
  if (info.format === 'png' && (info.colorType !== PNG_RGBA || info.bitDepth !== 8)) {
    return 'a PNG icon must be 8-bit RGBA without autoConvert=true';
  }
  return undefined;
}
