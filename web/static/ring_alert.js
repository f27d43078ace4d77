// The ring alert: while a call rings on the desk, a short tone (made with WebAudio, no
// sound file), a desktop notification when the agent allowed them, the tab's title, and an
// aria-live announcement for screen readers. It follows the panel's "panel:desk" event.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const word = (code) => document.querySelector(`#call-control-messages [data-code="${code}"]`).textContent;
  const baseTitle = document.title;
  let ringingFor = null;
  let audio = null;

  function tone() {
    // Two short beeps at the telephone ring's 440/480 Hz; the browser may refuse sound until
    // the agent has clicked on the page, which the agent always has (Ready).
    try {
      audio = audio || new AudioContext();
      const start = audio.currentTime;
      for (const offset of [0, 0.5]) {
        for (const frequency of [440, 480]) {
          const oscillator = audio.createOscillator();
          const gain = audio.createGain();
          oscillator.frequency.value = frequency;
          gain.gain.value = 0.1;
          oscillator.connect(gain).connect(audio.destination);
          oscillator.start(start + offset);
          oscillator.stop(start + offset + 0.3);
        }
      }
    } catch (error) {
      console.warn("ring tone unavailable", error);
    }
  }

  function notify(text, call) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const note = new Notification(text, { body: call.caller_number, tag: call.call_key });
    note.onclick = () => window.focus();
  }

  function onDesk(desk) {
    const call = desk.call;
    const ringing = call && call.status === "ringing" ? call : null;
    if (!ringing) {
      ringingFor = null;
      document.title = baseTitle;
      return;
    }
    if (ringingFor === ringing.call_key) return;
    ringingFor = ringing.call_key;
    const who = [ringing.caller_number, ringing.caller_name].filter(Boolean).join(" ");
    document.title = `☎ ${word("ringing.title")}: ${who} · ${baseTitle}`;
    $("ring-announcement").textContent = `${word("ringing")}: ${who}`;
    tone();
    notify(`${word("ringing")}: ${who}`, ringing);
  }

  const ask = $("alerts-permission");
  ask.hidden = !("Notification" in window) || Notification.permission !== "default";
  ask.addEventListener("click", async () => {
    await Notification.requestPermission();
    ask.hidden = Notification.permission !== "default";
  });
  document.addEventListener("panel:desk", (event) => onDesk(event.detail));
})();
