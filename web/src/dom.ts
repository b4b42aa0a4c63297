// Small DOM helpers: elements are built with textContent, never innerHTML, so no payload
// (a log's content, a notification's message) can inject markup.

export type Child = Node | string | number | null | undefined | false;

/** `h("li", {class: "x", "data-id": "3"}, "text", child)`; `true` sets an empty attribute. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === "number" ? String(child) : child);
  }
  return element;
}

/** The element with `id`, checked to be of `type` (a missing one is a bug in index.html). */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing from index.html`);
  return element;
}

/** A form control's current value by name ("" when absent). */
export function field(form: HTMLFormElement, name: string): string {
  const control = form.elements.namedItem(name);
  if (
    control instanceof HTMLInputElement ||
    control instanceof HTMLTextAreaElement ||
    control instanceof HTMLSelectElement
  ) {
    return control.value;
  }
  return "";
}

const TIME = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** `<time>` showing the local time of an ISO 8601 instant, with the full instant on hover. */
export function timeElement(iso: string | null | undefined): HTMLTimeElement | string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h("time", { datetime: iso, title: date.toLocaleString() }, TIME.format(date));
}

/** Show `message` in an alert paragraph (an empty message clears it). */
export function say(target: HTMLElement, message: string): void {
  target.textContent = message;
}

export function plural(count: number, one: string, many: string = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
