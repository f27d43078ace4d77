// Click-to-call from a case page: the agent's phone rings first, then the case's contact;
// the result (or the PBX's refusal) is shown in the page's language.
"use strict";

(() => {
  const form = document.getElementById("case-call-back");
  const result = document.getElementById("case-call-back-result");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const say = (code) => {
    const found = document.querySelector(`#call-control-messages [data-code="${CSS.escape(code)}"]`)
      || document.querySelector('#call-control-messages [data-code="failed"]');
    return found.textContent;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    result.textContent = "";
    try {
      const response = await fetch("/panel/callback", {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
        body: new URLSearchParams({ number: form.dataset.number, case_id: form.dataset.caseId }),
      });
      const body = await response.json().catch(() => ({}));
      result.textContent = say(response.ok ? "done.callback" : body.error || "failed");
      result.classList.toggle("error", !response.ok);
    } finally {
      button.disabled = false;
    }
  });
})();
