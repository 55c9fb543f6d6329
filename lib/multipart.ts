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
  return [
    bodyLimit(maxBytes + MULTIPART_OVERHEAD_BYTES, tooLarge),
    httpMultipartBodyParser({
      // files: 2 so that a second file is seen and refused rather than silently dropped.
      busboy: { limits: { fileSize: maxBytes, files: 2, fields: 10, parts: 20, fieldSize: 1024, headerPairs: 20 } },
    }) as MiddlewareObj<ApiEvent, ApiResponse, Error, Context>,
  ];
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
