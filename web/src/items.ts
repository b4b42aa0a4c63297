// The memory-log and mental-note panels: one class, two configurations. A list is loaded through
// REST, changed by this tab's own REST calls at once, and by room events from every other tab.

import { ApiError, api } from "./api.js";
import { field, h, plural, say, timeElement } from "./dom.js";

export interface Item {
  id: number;
  user_id: number;
  created_at: string;
  updated_at: string | null;
}

export interface FieldSpec {
  name: string;
  label: string;
  multiline: boolean;
  required: boolean;
  maxLength: number;
}

export interface ItemsConfig<T extends Item> {
  /** "memory log" / "mental note": used in labels and messages. */
  noun: string;
  path: string;
  fields: FieldSpec[];
  /** The visible body of one item. */
  render(item: T): Node[];
}

export interface ItemsElements {
  form: HTMLFormElement;
  list: HTMLUListElement;
  count: HTMLElement;
  error: HTMLElement;
}

export class ItemsPanel<T extends Item> {
  private readonly items = new Map<number, T>();
  /** Deleted ids, so a late or replayed `…_updated` cannot bring an item back. */
  private readonly deleted = new Set<number>();
  private editing: number | undefined;
  /** The open editor, kept across re-renders so events arriving meanwhile keep what was typed. */
  private editor: HTMLLIElement | undefined;

  constructor(
    private readonly config: ItemsConfig<T>,
    private readonly elements: ItemsElements,
    private readonly token: () => string,
    private readonly ownerId: number,
    private readonly onUnauthorized: () => void,
  ) {
    elements.form.onsubmit = (event) => {
      event.preventDefault();
      void this.create();
    };
  }

  /** Load the list; returns the log position it was read at (when the server says). */
  async load(): Promise<number | undefined> {
    try {
      const page = await api.list<T>(this.token(), this.config.path);
      this.items.clear();
      for (const item of page.items) this.items.set(item.id, item);
      this.render();
      return page.position;
    } catch (error) {
      this.fail(error);
      return undefined;
    }
  }

  /** A created or updated item from a room event or a REST answer; the newest version wins. */
  upsert(item: T): void {
    if (item.user_id !== this.ownerId || this.deleted.has(item.id)) return;
    const known = this.items.get(item.id);
    if (known && stamp(known) > stamp(item)) return;
    this.items.set(item.id, item);
    this.render();
  }

  remove(id: number): void {
    this.deleted.add(id);
    if (this.editing === id) this.closeEditor();
    if (this.items.delete(id)) this.render();
  }

  private async create(): Promise<void> {
    const { form, error } = this.elements;
    const data = this.values(form);
    if (data === undefined) return;
    try {
      const item = await api.create<T>(this.token(), this.config.path, data);
      form.reset();
      say(error, "");
      this.upsert(item);
    } catch (failure) {
      this.fail(failure);
    }
  }

  private async save(id: number, editor: HTMLFormElement): Promise<void> {
    const data = this.values(editor);
    if (data === undefined) return;
    try {
      const item = await api.update<T>(this.token(), this.config.path, id, data);
      this.closeEditor();
      say(this.elements.error, "");
      this.items.set(item.id, item);
      this.render();
      this.focusEditButton(id);
    } catch (failure) {
      this.fail(failure);
    }
  }

  private async delete(id: number): Promise<void> {
    try {
      await api.remove(this.token(), this.config.path, id);
      say(this.elements.error, "");
      this.remove(id);
      const heading = this.elements.list.closest("section")?.querySelector("h2");
      heading?.setAttribute("tabindex", "-1");
      heading?.focus();
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) this.remove(id);
      else this.fail(failure);
    }
  }

  /** The form's values, or undefined (and the browser's message shown) when invalid. */
  private values(form: HTMLFormElement): Record<string, string> | undefined {
    if (!form.reportValidity()) return undefined;
    const data: Record<string, string> = {};
    for (const spec of this.config.fields) data[spec.name] = field(form, spec.name);
    if (this.config.fields.some((spec) => spec.required && !data[spec.name]?.trim())) {
      say(this.elements.error, `The ${this.config.noun} needs some text.`);
      return undefined;
    }
    return data;
  }

  private fail(error: unknown): void {
    if (error instanceof ApiError && error.status === 401) {
      this.onUnauthorized();
      return;
    }
    say(this.elements.error, error instanceof Error ? error.message : String(error));
  }

  private render(): void {
    const { list, count } = this.elements;
    const items = [...this.items.values()].sort((a, b) => b.id - a.id);
    list.replaceChildren(...items.map((item) => this.renderItem(item)));
    count.textContent = `(${plural(items.length, this.config.noun)})`;
  }

  private renderItem(item: T): HTMLLIElement {
    if (this.editing === item.id) {
      this.editor ??= this.renderEditor(item);
      return this.editor;
    }
    const edited = item.updated_at && item.updated_at !== item.created_at;
    const label = `${this.config.noun} ${item.id}`;
    const editButton = h("button", { type: "button", "aria-label": `Edit ${label}` }, "Edit");
    editButton.addEventListener("click", () => {
      this.closeEditor();
      this.editing = item.id;
      this.render();
      this.elements.list.querySelector<HTMLElement>(`[data-id="${item.id}"] [name]`)?.focus();
    });
    const deleteButton = h(
      "button",
      { type: "button", class: "danger", "aria-label": `Delete ${label}` },
      "Delete",
    );
    deleteButton.addEventListener("click", () => void this.delete(item.id));
    return h(
      "li",
      { class: "item", "data-id": String(item.id) },
      ...this.config.render(item),
      h(
        "p",
        { class: "muted meta" },
        "added ",
        timeElement(item.created_at),
        edited ? " · edited " : "",
        edited ? timeElement(item.updated_at) : "",
      ),
      h("div", { class: "actions" }, editButton, deleteButton),
    );
  }

  private renderEditor(item: T): HTMLLIElement {
    const editor = h("form", { class: "editor" });
    for (const spec of this.config.fields) {
      const id = `edit-${this.config.path.replace(/\W/g, "")}-${item.id}-${spec.name}`;
      const value = String((item as unknown as Record<string, unknown>)[spec.name] ?? "");
      const attributes = {
        id,
        name: spec.name,
        maxlength: String(spec.maxLength),
        required: spec.required,
      };
      const control = spec.multiline
        ? h("textarea", { ...attributes, rows: "3" })
        : h("input", { ...attributes, type: "text" });
      control.value = value;
      const label = `${spec.label} (${this.config.noun} ${item.id})`;
      editor.append(h("label", { for: id }, label), control);
    }
    const cancel = h("button", { type: "button" }, "Cancel");
    cancel.addEventListener("click", () => this.cancelEdit(item.id));
    editor.append(h("div", { class: "actions" }, h("button", { type: "submit" }, "Save"), cancel));
    editor.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.save(item.id, editor);
    });
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.cancelEdit(item.id);
    });
    return h("li", { class: "item editing", "data-id": String(item.id) }, editor);
  }

  private cancelEdit(id: number): void {
    this.closeEditor();
    this.render();
    this.focusEditButton(id);
  }

  private closeEditor(): void {
    this.editing = undefined;
    this.editor = undefined;
  }

  private focusEditButton(id: number): void {
    this.elements.list.querySelector<HTMLElement>(`[data-id="${id}"] button`)?.focus();
  }
}

/** When an item last changed, in ms (REST and events may write the offset differently). */
function stamp(item: Item): number {
  return Date.parse(item.updated_at ?? item.created_at);
}
