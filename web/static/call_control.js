// Call control on the panel: hang up, transfer (blind or after a consultation), call a
// citizen back, and the open callback requests. It follows the desk the panel renders
// (the "panel:desk" event) and never holds state the server does not also have.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const messages = {};
  for (const li of $("call-control-messages").children) messages[li.dataset.code] = li.textContent;
  const say = (code) => messages[code] || messages.failed;
  // Request times in the agency's time zone and calendar, as the rest of the panel shows them.
  const boot = JSON.parse($("panel-boot").textContent);
  const locale = (boot.lang === "th" ? "th-TH" : "en-GB") + (boot.era === "be" ? "-u-ca-buddhist" : "-u-ca-gregory");
  const when = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone: boot.timezone });

  let call = null;
  let consulting = null;

  function showError(code) {
    const box = $("call-control-error");
    box.textContent = code ? say(code) : "";
    box.hidden = !code;
  }

  async function post(url, fields) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      body: new URLSearchParams(fields),
    });
    const body = await response.json().catch(() => ({}));
    showError(response.ok ? "" : body.error || "failed");
    return response.ok ? body : null;
  }

  function option(select, value, label) {
    const item = document.createElement("option");
    item.value = value;
    item.textContent = label;
    select.appendChild(item);
  }

  async function loadTargets() {
    const response = await fetch("/panel/call/targets", { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const targets = await response.json();
    for (const agent of targets.agents) option($("transfer-agent"), agent.extension, `${agent.name} (${agent.extension})`);
    for (const queue of targets.queues) option($("transfer-queue"), queue, queue);
  }

  function showKind() {
    const kind = $("transfer-kind").value;
    $("transfer-agent").hidden = kind !== "agent";
    $("transfer-queue").hidden = kind !== "queue";
    $("transfer-number").hidden = kind !== "outside";
  }

  function target() {
    const kind = $("transfer-kind").value;
    if (kind === "agent") return $("transfer-agent").value;
    if (kind === "queue") return $("transfer-queue").value;
    return $("transfer-number").value.trim();
  }

  async function transfer(attended) {
    if (!call) return;
    const fields = { call_key: call.call_key, kind: $("transfer-kind").value, target: target(), attended: attended ? "1" : "0" };
    const done = await post("/panel/call/transfer", fields);
    if (!done) return;
    if (attended) {
      consulting = call.call_key;
      $("consultation-target").textContent = done.target;
    } else {
      $("call-control-done").textContent = say("done.transfer");
    }
    render();
  }

  async function endConsultation(complete) {
    if (!call) return;
    const url = complete ? "/panel/call/transfer/complete" : "/panel/call/transfer/cancel";
    if (await post(url, { call_key: call.call_key })) {
      consulting = null;
      if (complete) $("call-control-done").textContent = say("done.transfer");
      render();
    }
  }

  async function hangUp() {
    if (call && (await post("/panel/call/hangup", { call_key: call.call_key }))) {
      $("call-control-done").textContent = say("done.hangup");
    }
  }

  function render() {
    const talking = !!call && (call.status === "talking" || call.status === "held");
    $("call-controls").hidden = !talking;
    $("transfer-form").hidden = consulting !== null;
    $("consultation").hidden = consulting === null;
    $("call-back-caller").hidden = !call;
  }

  function onDesk(desk) {
    const next = desk.call;
    if (!next || !call || next.call_key !== call.call_key) {
      consulting = null;
      $("call-control-done").textContent = "";
      showError("");
      fillCases(next);
    }
    call = next;
    render();
  }

  // Calling back: the case list follows the pop, so a call back can name one of its cases.
  function fillCases(next) {
    const select = $("call-back-case");
    while (select.options.length > 1) select.remove(1);
    for (const item of next ? next.pop.cases : []) option(select, String(item.id), `${item.reference} ${item.topic || ""}`);
  }

  async function callBack(fields) {
    $("call-back").disabled = true;
    try {
      if (await post("/panel/callback", fields)) {
        $("call-control-done").textContent = say("done.callback");
        $("call-back-number").value = "";
        await loadRequests();
      }
    } finally {
      $("call-back").disabled = false;
    }
  }

  function requestRow(request) {
    const row = document.createElement("tr");
    for (const value of [when.format(new Date(request.requested_at)), request.queue, request.number || request.raw_number]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.appendChild(cell);
    }
    const cell = document.createElement("td");
    if (request.number) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = $("call-back").textContent;
      button.dataset.request = String(request.id);
      button.addEventListener("click", () => callBack({ request_id: String(request.id) }));
      cell.appendChild(button);
    }
    row.appendChild(cell);
    return row;
  }

  async function loadRequests() {
    const response = await fetch("/panel/callbacks", { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const { requests } = await response.json();
    $("callback-requests").replaceChildren(...requests.map(requestRow));
  }

  $("transfer-kind").addEventListener("change", showKind);
  $("transfer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    transfer(false);
  });
  $("attended-transfer").addEventListener("click", () => transfer(true));
  $("complete-transfer").addEventListener("click", () => endConsultation(true));
  $("cancel-transfer").addEventListener("click", () => endConsultation(false));
  $("hang-up").addEventListener("click", hangUp);
  $("call-back-caller").addEventListener("click", () => {
    if (call) $("call-back-number").value = call.caller_number;
  });
  $("call-back-form").addEventListener("submit", (event) => {
    event.preventDefault();
    callBack({ number: $("call-back-number").value.trim(), case_id: $("call-back-case").value });
  });
  document.addEventListener("panel:desk", (event) => onDesk(event.detail));

  showKind();
  render();
  loadTargets();
  loadRequests();
  setInterval(loadRequests, 15000);
})();
