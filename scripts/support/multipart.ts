/**
 * multipart/form-data bodies built in code, byte for byte, for handler events:
 * text fields and files (with filename and declared type), in the order given,
 * plus ways to break them the way real clients and attackers do.
 */
import { randomBytes } from 'node:crypto';

export interface FieldPart {
  name: string;
  value: string;
}

export interface FilePart {
  /** Form field name; `file` is the one the API reads. */
  name: string;
  filename: string;
  /** The declared type; the API must decide the real one from the bytes. Default application/octet-stream. */
  contentType?: string;
  content: Buffer | string;
}

export type Part = FieldPart | FilePart;

export interface MultipartOptions {
  /** Default: a random browser-like boundary of letters, digits and dashes. */
  boundary?: string;
  /** The boundary written into Content-Type, when it should differ from the one in the body. */
  declaredBoundary?: string;
  /** Leave out the closing `--boundary--` line (an interrupted upload). */
  omitClosingDelimiter?: boolean;
  /** Keep only the first bytes of the body (a number of bytes, or a share below 1). */
  truncateTo?: number;
}

export interface MultipartBody {
  body: Buffer;
  contentType: string;
  boundary: string;
}

const isFile = (part: Part): part is FilePart => 'filename' in part;

/** Quotes a header parameter as browsers do (double quotes and line breaks percent-encoded). */
const quoted = (value: string) => `"${value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;

export const randomBoundary = () => `----PortraitFormBoundary${randomBytes(8).toString('hex')}`;

export function multipartBody(parts: Part[], options: MultipartOptions = {}): MultipartBody {
  const boundary = options.boundary ?? randomBoundary();
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const headers = isFile(part)
      ? [
          `Content-Disposition: form-data; name=${quoted(part.name)}; filename=${quoted(part.filename)}`,
          `Content-Type: ${part.contentType ?? 'application/octet-stream'}`,
        ]
      : [`Content-Disposition: form-data; name=${quoted(part.name)}`];
    chunks.push(Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'));
    const content = isFile(part) ? part.content : part.value;
    chunks.push(Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'));
    chunks.push(Buffer.from('\r\n', 'latin1'));
  }
  if (!options.omitClosingDelimiter) chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  let body = Buffer.concat(chunks);
  if (options.truncateTo !== undefined) {
    const keep = options.truncateTo < 1 ? Math.floor(body.length * options.truncateTo) : options.truncateTo;
    body = body.subarray(0, keep);
  }
  return { body, boundary, contentType: `multipart/form-data; boundary=${options.declaredBoundary ?? boundary}` };
}

export interface FileFormOptions extends MultipartOptions {
  /** Default `file`. */
  field?: string;
  /** Default `picture.jpg`. */
  filename?: string;
  /** Default image/jpeg. */
  contentType?: string;
  /** Text fields sent before the file, as forms usually do. */
  fields?: Record<string, string>;
}

/**
 * The `body` and `headers` of an invoke() call that uploads one file, as a browser form would:
 * the Buffer body becomes a base64 event body, as API Gateway hands binary media to Lambda.
 */
export function fileUpload(content: Buffer, options: FileFormOptions = {}): { body: Buffer; headers: Record<string, string> } {
  const fields = Object.entries(options.fields ?? {}).map(([name, value]) => ({ name, value }));
  const file: FilePart = {
    name: options.field ?? 'file',
    filename: options.filename ?? 'picture.jpg',
    contentType: options.contentType ?? 'image/jpeg',
    content,
  };
  const { body, contentType } = multipartBody([...fields, file], options);
  return { body, headers: { 'content-type': contentType } };
}

/** Like fileUpload, for any list of parts. */
export function formUpload(parts: Part[], options: MultipartOptions = {}): { body: Buffer; headers: Record<string, string> } {
  const { body, contentType } = multipartBody(parts, options);
  return { body, headers: { 'content-type': contentType } };
}
