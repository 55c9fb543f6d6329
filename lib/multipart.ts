import httpMultipartBodyParser from '@middy/http-multipart-body-parser';
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { HttpError } from './errors';
import { bodyLimit, type ApiEvent, type ApiResponse } from './http';

/** Room for boundaries and part headers around the file. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

export interface UploadedFile {
  content: Buffer;
}

/**
 * multipart/form-data with one file in field `file`: the whole body is capped before parsing, busboy caps
 * the file while parsing (413, never a silently truncated file), and part counts are bounded.
 */
export function multipartFile(maxBytes: number, tooLarge: () => HttpError): MiddlewareObj<ApiEvent, ApiResponse, Error, Context>[] {
  const parser = httpMultipartBodyParser({
    // Our framing check below reads the boundary the way busboy does; Middy's own pattern refuses valid
    // quoted or punctuated boundaries (.NET, Dart) and "form-data;boundary=" without a space.
    disableContentTypeCheck: true,
    // files: 2 so that a second file is seen and refused rather than silently dropped.
    busboy: { limits: { fileSize: maxBytes, files: 2, fields: 10, parts: 20, fieldSize: 1024, headerPairs: 20 } },
  }) as MiddlewareObj<ApiEvent, ApiResponse, Error, Context>;
  return [
    bodyLimit(maxBytes + MULTIPART_OVERHEAD_BYTES, tooLarge),
    requireCompleteParts(),
    {
      before: async (request) => {
        try {
          await parser.before!(request);
        } catch (error) {
          // busboy's file limit: the same answer as the size check before parsing.
          if ((error as { statusCode?: number }).statusCode === 413) throw tooLarge();
          throw error;
        }
      },
    },
  ];
}

/** The boundary as busboy reads it: quoted or bare, 1 to 70 characters (RFC 2046). */
function boundaryOf(contentType: string): string | undefined {
  if (!/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^;\s"]{1,70}))\s*(?:;|$)/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Refuses anything but multipart/form-data with a usable boundary (415), and two shapes that make busboy
 * misbehave instead of failing (400): a body that ends inside a file part (it emits 'error' on the file
 * stream, which the Middy parser does not listen to, and the process crashes) and a part whose header
 * block never ends before the next boundary (the parser never settles, so the request hangs until the
 * Lambda timeout).
 */
const requireCompleteParts = (): MiddlewareObj<ApiEvent, ApiResponse, Error, Context> => ({
  before: ({ event }) => {
    const contentType = event.headers?.['content-type'] ?? event.headers?.['Content-Type'] ?? '';
    const boundary = boundaryOf(contentType);
    if (!boundary) {
      throw new HttpError(415, 'unsupported_media_type', 'Send the picture as multipart/form-data with a boundary, in the field "file".');
    }
    const body = typeof event.body === 'string' ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
    if (!hasCompleteParts(body, boundary)) {
      throw new HttpError(400, 'invalid_multipart', 'The multipart body is incomplete or malformed.');
    }
  },
});

/** True when every part has a complete header block and the body reaches its closing boundary. */
function hasCompleteParts(body: Buffer, boundary: string): boolean {
  // As busboy does, read the body as if preceded by CRLF, so that a leading boundary is a delimiter too.
  const text = Buffer.concat([Buffer.from('\r\n'), body]);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let at = text.indexOf(delimiter);
  while (at !== -1) {
    const after = at + delimiter.length;
    if (text[after] === 0x2d && text[after + 1] === 0x2d) return true; // "--": the closing boundary
    const next = text.indexOf(delimiter, after);
    const headerEnd = text.indexOf('\r\n\r\n', after);
    if (next === -1 || headerEnd === -1 || headerEnd + 4 > next) return false;
    at = next;
  }
  return false;
}

/** The one uploaded file of field `file`, or a 400 saying what is wrong. */
export function singleFile(body: unknown): UploadedFile {
  const parts = (body ?? {}) as Record<string, unknown>;
  const files = Object.values(parts).flat().filter((part): part is UploadedFile => Buffer.isBuffer((part as UploadedFile)?.content));
  if (files.length > 1) throw new HttpError(400, 'invalid_multipart', 'Send exactly one file, in the field "file".');
  const file = parts.file as UploadedFile | undefined;
  if (!file || !Buffer.isBuffer(file.content)) {
    throw new HttpError(400, 'missing_file', 'Send the picture as multipart/form-data in the field "file".');
  }
  return file;
}
