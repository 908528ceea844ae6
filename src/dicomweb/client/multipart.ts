/** multipart/related bodies for STOW-RS: both `type` and `boundary` quoted, as some servers insist. */
import { randomBytes } from 'node:crypto';

export function multipartRelated(parts: Array<{ bytes: Uint8Array; contentType?: string }>, boundary = `ctmn-${randomBytes(12).toString('hex')}`): { body: Uint8Array; contentType: string } {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    chunks.push(encoder.encode(`--${boundary}\r\nContent-Type: ${part.contentType ?? 'application/dicom'}\r\n\r\n`), part.bytes, encoder.encode('\r\n'));
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return { body, contentType: `multipart/related; type="application/dicom"; boundary="${boundary}"` };
}
