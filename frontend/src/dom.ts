// A small DOM builder: the pages are plain elements, no framework to download on a phone.

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown> | null;

export function h(tag: string, attrs: Attrs = null, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value as EventListener);
    } else if (name === "class") {
      el.className = String(value);
    } else if (name === "value" || name === "checked" || name === "disabled") {
      (el as unknown as Record<string, unknown>)[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function replace(target: HTMLElement, ...children: Child[]): void {
  target.replaceChildren();
  append(target, children);
}

let ids = 0;
/** A label and its control, tied by id (screen readers read the label). */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f${++ids}`;
  control.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("small", null, hint) : null,
  );
}

/** A polite live region: what it says is read out when it changes. */
export function liveRegion(cls = "status"): HTMLElement {
  return h("p", { class: cls, role: "status", "aria-live": "polite" });
}
