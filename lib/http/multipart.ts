import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { HttpError } from '../errors';
import { bodyLimit, type ApiEvent, type ApiResponse } from './endpoint';

/** Room for boundaries and part headers around the file. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/**
 * Bounds on what one upload form may hold. A form of more than MAX_PARTS parts is refused as a whole: ignoring
 * the rest, as busboy's `parts` limit did, answered a form whose file came late 400 missing_file.
 */
const MAX_PARTS = 20;
const MAX_HEADER_BLOCK_BYTES = 16 * 1024;
const MAX_HEADER_LINES = 20;
const MAX_NAME_BYTES = 200;
const MAX_FIELD_BYTES = 1024;

export interface UploadedFile {
  content: Buffer;
  filename: string;
  mimetype: string;
}

const malformed = (message = 'The multipart body is incomplete or malformed.') => new HttpError(400, 'invalid_multipart', message);
const notMultipart = () =>
  new HttpError(415, 'unsupported_media_type', 'Send the picture as multipart/form-data with a boundary, in the field "file" (curl: -F file=@photo.jpg).');

/**
 * multipart/form-data with one file in field `file`. The whole body is capped before parsing; then one parser,
 * this one, reads the boundary from Content-Type and frames the buffered body with it. (The Middy parser used to
 * run busboy after a separate framing check; the two read boundaries differently, and busboy then crashed the
 * process or hung on bodies the check let through.) Everything is synchronous over a buffer: no stream can error
 * outside the request or wait for bytes that never come.
 */
export function multipartFile(maxBytes: number, tooLarge: () => HttpError): MiddlewareObj<ApiEvent, ApiResponse, Error, Context>[] {
  return [
    // The type first: a raw (non-multipart) body arrives text-decoded, each invalid byte widened to three, so a
    // 3 MB JPEG would otherwise be told it is "larger than 5 MiB" instead of how to send it.
    { before: ({ event }) => void boundaryOf(contentTypeOf(event)) },
    bodyLimit(maxBytes + MULTIPART_OVERHEAD_BYTES, tooLarge),
    {
      before: ({ event }) => {
        const boundary = boundaryOf(contentTypeOf(event));
        // The one decode of the body: the parts (the file among them) are views into this buffer.
        const body = typeof event.body === 'string' ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
        // The form replaces the text, as Middy's body parsers do; handlers read it with singleFile().
        Object.assign(event, { body: formOf(parseMultipart(body, boundary, maxBytes, tooLarge)) });
      },
    },
  ];
}

const contentTypeOf = (event: ApiEvent) => event.headers?.['content-type'] ?? event.headers?.['Content-Type'] ?? '';

// RFC 7230 token and RFC 2046 boundary characters.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/**
 * Header parameters (`; name=value`, value a token or a quoted string), strictly: a parameter given twice, an
 * RFC 2231 form (`name*=`), a backslash escape (in Content-Type; filenames from browsers carry raw backslashes, so
 * there they are read literally) or anything unparsable is refused, since any two parsers (a proxy, a WAF, this one)
 * may read those differently. Returns undefined when the list cannot be read.
 */
export function parseParameters(text: string, { escapes }: { escapes: 'refuse' | 'literal' }): Map<string, string> | undefined {
  const parameters = new Map<string, string>();
  let rest = text;
  for (;;) {
    rest = rest.replace(/^[ \t]+/, '');
    if (rest === '') return parameters;
    if (rest[0] !== ';') return undefined;
    rest = rest.slice(1).replace(/^[ \t]+/, '');
    if (rest === '') return parameters; // a trailing ";" is harmless
    const equals = rest.indexOf('=');
    if (equals <= 0) return undefined;
    const name = rest.slice(0, equals).replace(/[ \t]+$/, '').toLowerCase();
    if (!TOKEN.test(name) || parameters.has(name)) return undefined;
    // RFC 2231/5987 forms: never for a boundary or a field name; a client's extra `filename*` is kept aside.
    if (name.includes('*') && (escapes === 'refuse' || name === 'name*')) return undefined;
    rest = rest.slice(equals + 1).replace(/^[ \t]+/, '');
    let value: string;
    if (rest[0] === '"') {
      const close = rest.indexOf('"', 1);
      if (close === -1) return undefined;
      value = rest.slice(1, close);
      if ((escapes === 'refuse' && value.includes('\\')) || /[\r\n]/.test(value)) return undefined;
      rest = rest.slice(close + 1);
    } else {
      const match = /^[^;\s"\\]+/.exec(rest);
      if (!match) return undefined;
      value = match[0];
      rest = rest.slice(value.length);
    }
    parameters.set(name, value);
  }
}

/**
 * The boundary, or a refusal: not multipart/form-data or no boundary at all is 415; an ambiguous parameter list
 * (duplicates, `boundary*=`, escapes) is 400, as is a boundary outside RFC 2046 (1 to 70 characters, 415).
 */
function boundaryOf(contentType: string): string {
  const match = /^\s*multipart\/form-data\s*(.*)$/is.exec(contentType);
  if (!match) throw notMultipart();
  const parameters = parseParameters(match[1]!, { escapes: 'refuse' });
  if (!parameters) throw malformed('The Content-Type parameters are malformed or ambiguous.');
  const boundary = parameters.get('boundary');
  if (boundary === undefined) throw notMultipart();
  if (!BOUNDARY.test(boundary)) throw notMultipart();
  return boundary;
}

interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  content: Buffer;
}

/** Splits the body at `CRLF--boundary`, RFC 2046: every part needs its header block, the body its close delimiter. */
export function parseMultipart(body: Buffer, boundary: string, maxFileBytes: number, tooLarge: () => HttpError): Part[] {
  // The body is read as if preceded by CRLF, so that a boundary on the first line is a delimiter too: that
  // delimiter then starts at -2. No copy of the body is made; the parts are views into it.
  const text = body;
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const parts: Part[] = [];
  let at = text.subarray(0, delimiter.length - 2).equals(delimiter.subarray(2)) ? -2 : text.indexOf(delimiter);
  if (at === -1) throw malformed();
  for (let index = 0; ; index += 1) {
    let cursor = at + delimiter.length;
    if (text[cursor] === 0x2d && text[cursor + 1] === 0x2d) return parts; // the close delimiter; the epilogue is ignored
    while (text[cursor] === 0x20 || text[cursor] === 0x09) cursor += 1; // transport padding
    if (text[cursor] !== 0x0d || text[cursor + 1] !== 0x0a) throw malformed();
    cursor += 2;
    const next = text.indexOf(delimiter, cursor);
    if (next === -1) throw malformed(); // cut off: no delimiter after this part
    // The header block ends at the first empty line, which must come before the next delimiter.
    const headerEnd = cursor === next ? -1 : text.indexOf('\r\n\r\n', cursor - 2);
    if (headerEnd === -1 || headerEnd + 4 > next) throw malformed();
    if (index >= MAX_PARTS) throw malformed(`The form has more than ${MAX_PARTS} parts: send the picture in the field "file", with few other fields or none.`);
    const headerBytes = text.subarray(cursor, Math.max(cursor, headerEnd));
    if (headerBytes.length > MAX_HEADER_BLOCK_BYTES) throw malformed('A part has too many or too long headers.');
    const part = partOf(headerBytes.toString('latin1'), text.subarray(headerEnd + 4, next));
    if (part.filename !== undefined && part.content.length > maxFileBytes) throw tooLarge();
    parts.push(part);
    at = next;
  }
}

function partOf(headerBlock: string, content: Buffer): Part {
  const lines = headerBlock === '' ? [] : headerBlock.split('\r\n');
  if (lines.length > MAX_HEADER_LINES) throw malformed('A part has too many or too long headers.');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    if (colon <= 0 || !TOKEN.test(name) || headers.has(name)) throw malformed('A part header is malformed or repeated.');
    headers.set(name, line.slice(colon + 1).trim());
  }
  const disposition = /^form-data(?=[ \t;]|$)(.*)$/is.exec(headers.get('content-disposition') ?? '');
  const parameters = disposition ? parseParameters(disposition[1]!, { escapes: 'literal' }) : undefined;
  const name = parameters?.get('name');
  if (!parameters || name === undefined || name === '' || Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw malformed('Every part needs a Content-Disposition: form-data header with a short name.');
  }
  return { name, filename: parameters.get('filename'), contentType: headers.get('content-type'), content };
}

/** The parsed form as handlers read it: field → text or file (an array when a name repeats). */
function formOf(parts: Part[]): Record<string, unknown> {
  const form: Record<string, unknown> = {};
  let fields = 0;
  for (const part of parts) {
    let value: unknown;
    if (part.filename !== undefined) {
      value = { content: part.content, filename: part.filename, mimetype: part.contentType ?? 'application/octet-stream' } satisfies UploadedFile;
    } else {
      if (part.content.length > MAX_FIELD_BYTES) throw malformed('A text field is too long.');
      fields += 1;
      if (fields > 10) continue;
      value = part.content.toString('utf8');
    }
    const previous = form[part.name];
    form[part.name] = previous === undefined ? value : [previous, value].flat();
  }
  return form;
}

/** The one uploaded file of field `file`, or a 400 saying what is wrong. */
export function singleFile(body: unknown): UploadedFile {
  const fields = typeof body === 'object' && body !== null ? body : {};
  const files = Object.values(fields).flat().filter(isUploadedFile);
  if (files.length > 1) throw new HttpError(400, 'invalid_multipart', 'Send exactly one file, in the field "file".');
  const file = 'file' in fields ? fields.file : undefined;
  if (!isUploadedFile(file)) {
    throw new HttpError(400, 'missing_file', 'Send the picture as multipart/form-data in the field "file".');
  }
  return file;
}

const isUploadedFile = (value: unknown): value is UploadedFile =>
  typeof value === 'object' && value !== null && 'content' in value && Buffer.isBuffer(value.content);
