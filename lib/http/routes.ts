import { operations, type Method } from './operations';

/** Paths of the API as patterns: `/users/{id}` matches `/users/6f1c…` and `/users/me` alike. */
const patterns = operations.map((operation) => ({
  method: operation.method,
  path: operation.path,
  pattern: new RegExp(`^${operation.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}/?$`),
}));

/** The methods the API answers on this concrete path (empty: no such path). */
export function methodsFor(rawPath: string): Method[] {
  return [...new Set(patterns.filter((route) => route.pattern.test(rawPath)).map((route) => route.method))];
}
