// dom.js: the few DOM helpers every UI module uses.

/** A new element with a class and text; text from other people goes in only this way. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A button of type "button". */
export function button(className, text) {
  const node = el('button', className, text);
  node.type = 'button';
  return node;
}

/** Whether a key press belongs to a text field rather than to the page's shortcuts. */
export function isTyping(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
  );
}

/** The `data-max-chars` the server put on an input: its limit comes from the server only. */
export function maxChars(input) {
  const n = Number(input?.dataset.maxChars);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`#${input?.id} has no data-max-chars`);
  return n;
}
