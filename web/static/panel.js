// The agent panel: renders the desk the server sends, keeps its WebSocket alive and resumes
// it, ticks the timers. Every caller-supplied value goes into the page as text only.
"use strict";

(() => {
  const boot = JSON.parse(document.getElementById("panel-boot").textContent);
  const S = boot.strings;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const TIMED = ["greeting", "inquiry", "closing"];

  let desk = boot.desk;
  let lastId = boot.last_event_id;
  let epoch = boot.epoch;
  let offsetMs = 0;
  let socket = null;
  let lastHeard = Date.now();
  let retryMs = 500;
  let formDirty = false;
  let prefilledFor = null;

  const locale = (boot.lang === "th" ? "th-TH" : "en-GB") +
    (boot.era === "be" ? "-u-ca-buddhist" : "-u-ca-gregory");
  const dateFormat = new Intl.DateTimeFormat(locale, {
    dateStyle: "medium", timeStyle: "short", timeZone: boot.timezone,
  });
  const dayFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: boot.timezone });

  const text = (key) => S[key] || key;
  const serverNow = () => Date.now() + offsetMs;
  const since = (iso) => (iso ? (serverNow() - Date.parse(iso)) / 1000 : 0);
  const formatDate = (iso, fmt) => (iso ? fmt.format(new Date(iso)) : "");

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  function colour(elapsed, standard) {
    if (elapsed > standard.max_s) return "red";
    if (elapsed >= standard.amber_at) return "amber";
    return "green";
  }

  function setText(id, value) {
    $(id).textContent = value == null ? "" : String(value);
  }

  function cell(row, value) {
    const td = document.createElement("td");
    td.textContent = value == null ? "" : String(value);
    row.appendChild(td);
  }

  function fillRows(tbodyId, items, columns) {
    const body = $(tbodyId);
    body.replaceChildren();
    if (!items.length) {
      const row = document.createElement("tr");
      cell(row, text("panel.history.none"));
      row.firstChild.colSpan = columns.length;
      body.appendChild(row);
      return;
    }
    for (const item of items) {
      const row = document.createElement("tr");
      for (const column of columns) cell(row, column(item));
      body.appendChild(row);
    }
  }

  const ratingText = (r) => (r ? `${r} ${text("panel.rating." + r)}` : "");

  function renderPop(call) {
    const pop = call.pop;
    $("new-caller").hidden = pop.known;
    for (const [field, value] of Object.entries(pop.profile)) setText("profile-" + field, value);
    fillRows("history-calls", pop.calls, [
      (c) => formatDate(c.joined_at, dateFormat),
      (c) => c.agent,
      (c) => (c.abandoned ? text("panel.history.abandoned") : clock(c.talk_s || 0)),
      (c) => ratingText(c.rating),
    ]);
    fillRows("history-cases", pop.cases, [
      (c) => c.reference,
      (c) => text("panel.type." + c.case_type),
      (c) => c.topic,
      (c) => text("panel.status." + c.status),
      (c) => formatDate(c.due_at, dayFormat),
    ]);
    fillRows("history-mails", pop.mails, [
      (m) => formatDate(m.sent_at || m.created_at, dateFormat),
      (m) => m.subject,
      (m) => text("panel.mail." + m.status),
    ]);
    const ratings = $("history-ratings");
    ratings.replaceChildren();
    for (const r of pop.ratings) {
      const li = document.createElement("li");
      li.textContent = `${formatDate(r.rated_at, dayFormat)}: ${ratingText(r.rating)}`;
      ratings.appendChild(li);
    }
  }

  function prefillIntake(call) {
    // Once per call: notes typed for another call are set aside (intake_drafts.js), never
    // mixed into this caller's form.
    const form = $("intake");
    if (prefilledFor === call.call_key) return;
    prefilledFor = call.call_key;
    if (formDirty) {
      const values = [...new FormData(form)].filter(([name]) => name !== "csrf_token");
      document.dispatchEvent(new CustomEvent("intake:set-aside", { detail: values }));
    }
    formDirty = false;
    form.reset();
    clearErrors();
    setText("intake-result", "");
    const p = call.pop.profile;
    const values = {
      call_key: call.call_key, case_id: "", channel: "phone",
      contact_phone: call.caller_number, contact_name: p.name || call.caller_name,
      contact_email: p.email, occupation: p.occupation, gender: p.gender,
      age_band: p.age_band, province: p.province,
    };
    for (const [name, value] of Object.entries(values)) form.elements[name].value = value || "";
  }

  function render() {
    setText("state-label", text("panel.state." + desk.availability));
    // A reason typed on the PBX side has no translation: show it as it came.
    setText("state-reason", desk.reason ? S["panel.reason." + desk.reason] || desk.reason : "");
    $("state-label").dataset.state = desk.availability;
    const call = desk.call;
    $("idle").hidden = !!call;
    $("call").hidden = !call;
    if (!call) return;
    $("call").dataset.status = call.status;
    setText("call-status", text("panel.call." + call.status));
    setText("caller-number", call.caller_number);
    setText("caller-name", call.caller_name);
    setText("call-queue", call.queue);
    $("call-transferred").hidden = !call.transferred_to;
    setText("call-transferred-to", call.transferred_to);
    const talking = call.status === "talking" || call.status === "held";
    $("phases").hidden = !call.answered_at;
    $("next-phase").disabled = !talking || !TIMED.includes(call.phase);
    $("script-greeting").hidden = !(talking && call.phase === "greeting");
    $("script-closing").hidden = !(talking && call.phase === "closing");
    $("wrapup").hidden = call.status !== "wrapup";
    for (const phase of TIMED) {
      const el = $("phase-" + phase);
      el.classList.toggle("current", talking && call.phase === phase);
      const std = boot.standards[phase];
      setText("standard-" + phase, std.min_s ? `${clock(std.min_s)}–${clock(std.max_s)}` : `≤ ${clock(std.max_s)}`);
    }
    if (renderPop.shown !== call.call_key) {
      renderPop(call);
      renderPop.shown = call.call_key;
    }
    prefillIntake(call);
  }

  function phaseSpans(call) {
    // Each timed phase runs from its mark to the next mark (or now).
    const spans = {};
    call.phases.forEach((mark, i) => {
      const next = call.phases[i + 1];
      spans[mark.phase] = { start: mark.at, end: next ? next.at : null };
    });
    return spans;
  }

  function tick() {
    setText("state-timer", clock(since(desk.since)));
    const call = desk.call;
    if (!call || !call.answered_at) return;
    const spans = phaseSpans(call);
    for (const phase of TIMED) {
      const span = spans[phase];
      const el = $("phase-" + phase);
      if (!span) {
        setText("timer-" + phase, "0:00");
        el.dataset.colour = "";
        continue;
      }
      const end = span.end ? Date.parse(span.end) : serverNow();
      const elapsed = (end - Date.parse(span.start)) / 1000;
      setText("timer-" + phase, clock(elapsed));
      el.dataset.colour = colour(elapsed, boot.standards[phase]);
    }
    if (call.status === "wrapup") {
      const elapsed = since(call.ended_at);
      setText("timer-wrapup", clock(elapsed));
      setText("wrapup-left", clock((Date.parse(call.wrapup_until) - serverNow()) / 1000));
      if (boot.standards.wrapup) $("wrapup").dataset.colour = colour(elapsed, boot.standards.wrapup);
    }
  }

  function applyDesk(next) {
    desk = next;
    offsetMs = Date.parse(next.now) - Date.now();
    render();
    tick();
    // Call control and the ring alert follow the same desk.
    document.dispatchEvent(new CustomEvent("panel:desk", { detail: next }));
  }

  async function reloadState() {
    const response = await fetch("/panel/state", { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const state = await response.json();
    lastId = state.last_event_id;
    epoch = state.epoch;
    applyDesk(state.desk);
  }

  function onMessage(raw) {
    lastHeard = Date.now();
    const message = JSON.parse(raw);
    if (message.type === "heartbeat") return;
    if (message.type === "hello") {
      retryMs = 500;
      $("link-lost").hidden = true;
      return;
    }
    if (message.type === "reload") {
      // Too far behind to replay: take the whole desk again, then listen from there.
      const stale = socket;
      socket = null;
      stale.close();
      $("link-lost").hidden = true;
      reloadState().finally(connect);
      return;
    }
    if (message.id <= lastId) return;
    lastId = message.id;
    applyDesk(message.data);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ since: String(lastId), epoch });
    const ws = new WebSocket(`${scheme}//${location.host}/panel/ws?${query}`);
    socket = ws;
    lastHeard = Date.now();
    ws.onmessage = (event) => onMessage(event.data);
    ws.onclose = () => {
      if (socket !== ws) return;
      $("link-lost").hidden = false;
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  }

  function watchdog() {
    // No heartbeat for too long: the link is dead even if the browser has not noticed.
    if (socket && Date.now() - lastHeard > boot.heartbeat_s * 2500) {
      lastHeard = Date.now();
      socket.close();
    }
  }

  async function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      body: body || new URLSearchParams(),
    });
  }

  async function changeAvailability(availability) {
    const body = new URLSearchParams({ availability, reason: $("pause-reason").value });
    const response = await post("/panel/availability", body);
    $("state-error").hidden = response.ok;
    if (response.ok) applyDesk((await response.json()).desk);
  }

  const nextPhase = () => post("/panel/phase/next");

  // Wrap-up ends with its code; the PBX keeps the agent out of the queue until then.
  async function endWrapup() {
    const code = $("wrapup-code").value;
    $("wrapup-error").hidden = code !== "";
    if (code === "") return;
    const response = await post("/panel/wrapup/end", new URLSearchParams({ code }));
    $("wrapup-error").hidden = response.ok;
    if (response.ok) $("wrapup-code").value = "";
  }

  function clearErrors() {
    for (const el of document.querySelectorAll("[data-error-for]")) el.textContent = "";
  }

  async function saveIntake(event) {
    event.preventDefault();
    const form = $("intake");
    clearErrors();
    setText("intake-result", "");
    const response = await post("/panel/intake", new URLSearchParams(new FormData(form)));
    const result = await response.json().catch(() => ({}));
    if (response.status === 422 && result.errors) {
      for (const [field, code] of Object.entries(result.errors)) {
        const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
        if (slot) slot.textContent = text("panel.intake.error." + code);
      }
      return;
    }
    if (!response.ok) {
      setText("intake-result", text("panel.intake.failed"));
      return;
    }
    form.elements.case_id.value = String(result.case_id);
    formDirty = false;
    setText("intake-result", `${text("panel.intake.saved")}: ${result.reference}`);
  }

  for (const button of document.querySelectorAll("[data-availability]")) {
    button.addEventListener("click", () => changeAvailability(button.dataset.availability));
  }
  $("next-phase").addEventListener("click", nextPhase);
  $("end-wrapup").addEventListener("click", endWrapup);
  $("intake").addEventListener("submit", saveIntake);
  $("intake").addEventListener("input", () => { formDirty = true; });
  document.addEventListener("keydown", (event) => {
    if (event.altKey && event.code === "KeyN" && !$("next-phase").disabled) {
      event.preventDefault();
      nextPhase();
    }
  });
  setText("script-greeting-text", boot.scripts.greeting);
  setText("script-closing-text", boot.scripts.closing);

  applyDesk(desk);
  connect();
  setInterval(tick, 250);
  setInterval(watchdog, 1000);
})();
