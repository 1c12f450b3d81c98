/** A few DOM helpers shared by the demo app and the console: no framework, no inline handlers. */

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | undefined | ((event: Event) => void)>;

/** Creates an element: `h('button', { type: 'submit', onclick: save }, 'Save')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** Replaces the children of `parent`. */
export function mount(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((child): child is Node | string => child !== null && child !== undefined && child !== false));
}

/** A labelled input; the label's `for` points at it (screen readers, bigger tap target). */
export function field(label: string, name: string, attributes: Attributes = {}): HTMLLabelElement {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 8)}`;
  return h('label', { for: id }, label, h('input', { id, name, ...attributes }));
}

/** A form whose submit calls `onSubmit` with its fields; the button is disabled while it runs. */
export function form(name: string, onSubmit: (values: Record<string, string>, form: HTMLFormElement) => Promise<void>, ...children: Child[]): HTMLFormElement {
  const element = h('form', { 'aria-label': name }, ...children);
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    const values: Record<string, string> = {};
    for (const [key, value] of new FormData(element).entries()) values[key] = String(value);
    const buttons = [...element.querySelectorAll('button')];
    for (const button of buttons) button.disabled = true;
    void onSubmit(values, element)
      .catch((error: unknown) => notify(errorText(error), true))
      .finally(() => {
        for (const button of buttons) button.disabled = false;
      });
  });
  return element;
}

/** A button that runs `action` (errors reported in the status line). */
export function button(label: string, action: () => Promise<void> | void, attributes: Attributes = {}): HTMLButtonElement {
  const element = h('button', { type: 'button', ...attributes }, label);
  element.addEventListener('click', () => {
    element.disabled = true;
    void Promise.resolve()
      .then(action)
      .catch((error: unknown) => notify(errorText(error), true))
      .finally(() => {
        element.disabled = false;
      });
  });
  return element;
}

/** The message of an error as a user should read it. */
export function errorText(error: unknown): string {
  if (error && typeof error === 'object' && 'body' in error) {
    const body = (error as { body?: { msg?: string; message?: string; error_description?: string } }).body;
    const text = body?.msg ?? body?.message ?? body?.error_description;
    if (text) return text;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Writes a line to the page's live status region (announced by screen readers). */
export function notify(text: string, isError = false): void {
  const status = document.getElementById('status');
  if (!status) return;
  status.textContent = text;
  status.className = isError ? 'status error' : 'status';
}

/** A section with a heading, for the page's outline. */
export function section(title: string, ...children: Child[]): HTMLElement {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { 'aria-labelledby': id, 'data-section': title }, h('h2', { id }, title), ...children);
}

/** A table from rows of cells. */
export function table(headers: string[], rows: Child[][]): HTMLTableElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...headers.map((header) => h('th', { scope: 'col' }, header)))),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...row.map((cell) => h('td', {}, cell))))),
  );
}

/** A date for people. */
export function when(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') return '—';
  const date = new Date(typeof value === 'number' ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? '—' : date.toLocaleString();
}
