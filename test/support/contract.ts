// Every response a test receives is checked against the OpenAPI document (ajv, JSON Schema 2020-12):
// a handler that answers a status, code or shape the document does not describe fails its test.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { buildOpenApiDocument } from '../../lib/ops/openapi';

const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

type Json = Record<string, any>;
const COMPONENTS = 'https://portrait.test/components';
const rewriteRefs = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${COMPONENTS}#/$defs/`));

const matches = (template: string, rawPath: string) =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`).test(rawPath);

/** The route template of a concrete path (`/users/6f1c…` → `/users/{id}`), preferring literal segments. */
function templateIn(document: Json, method: string, rawPath: string): string | undefined {
  const candidates = Object.keys(document.paths).filter((template) => document.paths[template][method.toLowerCase()]);
  const found = candidates.filter((template) => matches(template, rawPath));
  // /users/me beats /users/{id}: fewer parameters first.
  return found.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0];
}

export interface ReceivedResponse {
  method: string;
  /** The route template (/users/{id}); give rawPath instead when unknown. */
  route?: string;
  rawPath?: string;
  status: number;
  contentType?: string;
  body: string;
}

/** A checker of responses against one document. */
function contractOf(document: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ $id: COMPONENTS, $defs: rewriteRefs(document.components?.schemas ?? {}) as Json });
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();

  /** Throws, naming the route and the mismatch, when the response is not what the document says. */
  return function expect(response: ReceivedResponse): void {
    const method = response.method.toLowerCase();
    const route = response.route ?? templateIn(document, method, response.rawPath ?? '');
    const where = `${response.method} ${route ?? response.rawPath} → ${response.status}`;
    if (!route || !document.paths[route]?.[method]) {
      // Not an operation: the catch-all's 404/405, which the document describes in info.description.
      const code = safeJson(response.body)?.error?.code;
      if ((response.status === 404 && code === 'not_found') || (response.status === 405 && code === 'method_not_allowed')) return;
      throw new Error(`${where}: this route is not in the OpenAPI document: add its entry to operations in lib/http/operations.ts.`);
    }
    const documented = document.paths[route][method].responses[String(response.status)];
    if (!documented) {
      throw new Error(`${where}: status ${response.status} is not documented for this route; add it to its entry in lib/http/operations.ts. Body: ${response.body.slice(0, 300)}`);
    }
    const mediaType = (response.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (!response.body) return;
    const content = documented.content ?? {};
    if (!content[mediaType]) {
      throw new Error(`${where}: a ${mediaType || 'body without content type'} answer is not documented (documented: ${Object.keys(content).join(', ') || 'no body'}).`);
    }
    if (mediaType !== 'application/json') return;
    const key = `${method} ${route} ${response.status}`;
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile(rewriteRefs(content[mediaType].schema) as Json);
      validators.set(key, validate);
    }
    const parsed = JSON.parse(response.body);
    if (!validate(parsed)) {
      const code = parsed?.error?.code;
      if (response.status >= 400 && typeof code === 'string') {
        throw new Error(
          `${where}: error code "${code}" is not documented for this status: add it to \`errors: { ${response.status}: [..., '${code}'] }\` of this route's entry in lib/http/operations.ts (${ajv.errorsText(validate.errors)}).`,
        );
      }
      throw new Error(`${where}: the body does not match the documented schema: ${ajv.errorsText(validate.errors)}. Body: ${response.body.slice(0, 500)}`);
    }
  };
}

/** Every response the tests receive: the document GET /openapi.json serves. */
export const expectDocumented = contractOf(buildOpenApiDocument() as unknown as Json);

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
