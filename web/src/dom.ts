// A tiny element builder: text goes in as text nodes, never as HTML.
type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | number | undefined | ((event: any) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

let fieldCounter = 0;

/** A labelled input with a place for its error; `describe` is shown below as a hint. */
export function field(label: string, input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string) {
  fieldCounter += 1;
  input.id ||= `field-${fieldCounter}`;
  const error = h('p', { class: 'field-error', id: `${input.id}-error` });
  const hintElement = hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null;
  input.setAttribute('aria-describedby', [hintElement ? `${input.id}-hint` : '', `${input.id}-error`].filter(Boolean).join(' '));
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintElement, error);
}

/** Shows the API's per-field messages next to the inputs named like the fields. */
export function showFieldErrors(form: HTMLFormElement, details: Record<string, string>) {
  for (const element of form.querySelectorAll<HTMLElement>('.field-error')) element.textContent = '';
  for (const input of form.querySelectorAll<HTMLInputElement>('[aria-invalid]')) input.removeAttribute('aria-invalid');
  let first: HTMLElement | undefined;
  for (const [name, message] of Object.entries(details)) {
    const input = form.querySelector<HTMLInputElement>(`[name="${CSS.escape(name)}"]`);
    if (!input) continue;
    input.setAttribute('aria-invalid', 'true');
    const error = form.querySelector<HTMLElement>(`#${CSS.escape(input.id)}-error`);
    if (error) error.textContent = `${input.labels?.[0]?.textContent ?? name} ${message}.`;
    first ??= input;
  }
  first?.focus();
}

export const formValues = (form: HTMLFormElement) =>
  Object.fromEntries([...new FormData(form).entries()].map(([name, value]) => [name, typeof value === 'string' ? value : '']));
