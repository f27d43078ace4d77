// The knowledge base on the panel: the agent searches, reads an article in the panel
// (the call stays on screen) and puts its documents in the caller's basket, which the
// server keeps per call. It follows the desk the panel renders (the "panel:desk" event).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const messages = {};
  for (const li of $("knowledge-messages").children) messages[li.dataset.code] = li.textContent;
  let callKey = null;

  // `code`: one of the server's refusals, true for any other failure, "" for none.
  function showError(code) {
    $("knowledge-error").textContent = code ? messages[code] || messages.failed : "";
    $("knowledge-error").hidden = !code;
  }

  function item(text, testid) {
    const li = document.createElement("li");
    if (text) li.textContent = text;
    if (testid) li.dataset.testid = testid;
    return li;
  }

  function button(label, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    return response.ok ? response.json() : null;
  }

  async function search(query) {
    const found = await getJson(`/knowledge/search?q=${encodeURIComponent(query)}`);
    const list = $("knowledge-hits");
    list.replaceChildren();
    const hits = found ? found.hits : [];
    for (const hit of hits) {
      const li = item("", "knowledge-hit");
      const link = document.createElement("a");
      link.href = "#";
      link.textContent = hit.title;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        open(hit.id);
      });
      li.appendChild(link);
      list.appendChild(li);
    }
    $("knowledge-none").hidden = hits.length > 0 || !query.trim();
  }

  async function open(id) {
    const article = await getJson(`/knowledge/articles/${id}`);
    if (!article) return showError("failed");
    $("knowledge-article-title").textContent = article.title;
    // The server sanitised the body to a few harmless tags (knowledge.rich_text).
    $("knowledge-article-body").innerHTML = article.body_html;
    $("knowledge-article-overdue").hidden = !article.overdue;
    const files = $("knowledge-article-files");
    files.replaceChildren();
    for (const file of article.attachments) {
      const li = item("", "knowledge-file");
      const link = document.createElement("a");
      link.href = `/knowledge/attachments/${file.id}`;
      link.textContent = file.filename;
      li.appendChild(link);
      const add = button(messages.add, () => change("/panel/basket", { attachment_id: file.id }));
      add.dataset.testid = "basket-add";
      add.className = "basket-add";
      li.appendChild(add);
      files.appendChild(li);
    }
    $("knowledge-article").hidden = false;
    renderCall();
  }

  function renderBasket(basket) {
    const list = $("knowledge-basket-items");
    list.replaceChildren();
    const items = basket ? basket.items : [];
    for (const entry of items) {
      const li = item(`${entry.filename} · ${entry.article_title}`, "basket-item");
      li.appendChild(button(messages.remove, () => change("/panel/basket/remove", { attachment_id: entry.attachment_id })));
      list.appendChild(li);
    }
    $("knowledge-send").hidden = items.length === 0;
    const sent = $("knowledge-sent");
    sent.replaceChildren();
    for (const mail of basket ? basket.sent : []) {
      sent.appendChild(item(`${mail.to} · ${mail.documents} · ${messages["status." + mail.status]}`, "basket-mail"));
    }
  }

  async function change(url, fields) {
    if (!callKey) return null;
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      body: new URLSearchParams({ call_key: callKey, ...fields }),
    });
    const body = await response.json().catch(() => null);
    showError(response.ok ? "" : (body && body.error) || true);
    if (body && body.items) renderBasket(body);
    return response.ok ? body : null;
  }

  async function send() {
    const fields = { email: $("knowledge-send-email").value.trim() };
    if ($("knowledge-send-confirmed").checked) fields.confirmed = "on";
    if (await change("/panel/basket/send", fields)) $("knowledge-send-confirmed").checked = false;
  }

  function renderCall() {
    $("knowledge-basket-no-call").hidden = callKey !== null;
    for (const add of document.querySelectorAll(".basket-add")) add.hidden = callKey === null;
  }

  async function onDesk(desk) {
    const next = desk.call ? desk.call.call_key : null;
    if (next === callKey) return;
    callKey = next;
    // The address the caller gave before, to confirm with them or correct.
    $("knowledge-send-email").value = desk.call ? desk.call.pop.profile.email || "" : "";
    $("knowledge-send-confirmed").checked = false;
    renderCall();
    renderBasket(callKey ? await getJson(`/panel/basket?call_key=${encodeURIComponent(callKey)}`) : null);
  }

  $("knowledge-search").addEventListener("submit", (event) => {
    event.preventDefault();
    search($("knowledge-query").value);
  });
  $("knowledge-send").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  document.addEventListener("panel:desk", (event) => onDesk(event.detail));
  renderCall();
})();
