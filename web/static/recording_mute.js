// Mute the call's recording while the citizen reads an ID or card number, then resume.
// The server checks that the call is the agent's own live call; the PBX's answer decides.
"use strict";

(() => {
  const button = document.getElementById("recording-mute");
  if (!button) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let call = null;
  let muted = false;

  function show() {
    button.textContent = muted ? button.dataset.unmute : button.dataset.mute;
    button.setAttribute("aria-pressed", muted ? "true" : "false");
  }

  async function toggle() {
    if (!call) return;
    const url = muted ? "/panel/call/recording/unmute" : "/panel/call/recording/mute";
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      body: new URLSearchParams({ call_key: call }),
    });
    const error = document.getElementById("recording-mute-error");
    const body = await response.json().catch(() => ({}));
    const said = (code) => document.querySelector(`#call-control-messages [data-code="${code}"]`);
    error.textContent = response.ok ? "" : (said(body.error) || said("failed")).textContent;
    error.hidden = response.ok;
    if (response.ok) {
      muted = !muted;
      show();
    }
  }

  document.addEventListener("panel:desk", (event) => {
    const next = event.detail && event.detail.call;
    const key = next && (next.status === "talking" || next.status === "held") ? next.call_key : null;
    if (key !== call) muted = false;
    call = key;
    show();
  });
  button.addEventListener("click", toggle);
  show();
})();
