// Unsaved intake notes of an earlier call, kept apart when the next call pops so they are
// never mixed into the new caller's form. Restoring them swaps them with the form (which is
// kept apart in turn), and saving files the case against the call they were typed for.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const form = $("intake");
  const drafts = new Map();

  function label(values) {
    const get = (name) => (values.find(([key]) => key === name) || [])[1] || "";
    return [get("contact_phone"), get("contact_name"), get("topic")].filter(Boolean).join(" · ");
  }

  function keep(values) {
    const callKey = (values.find(([key]) => key === "call_key") || [])[1] || "";
    drafts.set(callKey, values);
    render();
  }

  function restore(callKey) {
    const values = drafts.get(callKey);
    if (!values) return;
    drafts.delete(callKey);
    const current = [...new FormData(form)].filter(([key]) => key !== "csrf_token");
    if (form.elements.call_key.value) keep(current);
    form.reset();
    for (const [name, value] of values) {
      const field = form.elements[name];
      if (field && field.type === "checkbox") field.checked = value === "on";
      else if (field) field.value = value;
    }
    // Restored notes count as typed: the next pop sets them aside again, never drops them.
    form.dispatchEvent(new Event("input"));
    render();
  }

  function render() {
    const list = $("intake-drafts");
    list.hidden = drafts.size === 0;
    const items = [...drafts].map(([callKey, values]) => {
      const item = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = label(values) || callKey;
      const again = document.createElement("button");
      again.type = "button";
      again.className = "secondary";
      again.textContent = $("intake-drafts-restore").textContent;
      again.addEventListener("click", () => restore(callKey));
      const drop = document.createElement("button");
      drop.type = "button";
      drop.className = "secondary";
      drop.textContent = $("intake-drafts-discard").textContent;
      drop.addEventListener("click", () => {
        drafts.delete(callKey);
        render();
      });
      item.append(text, " ", again, " ", drop);
      return item;
    });
    $("intake-drafts-list").replaceChildren(...items);
  }

  document.addEventListener("intake:set-aside", (event) => keep(event.detail));
  render();
})();
