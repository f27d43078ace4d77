// The supervisors' live board: render the server's view, then poll it every 2 s.
// Every value from the server goes in with textContent: caller names are untrusted.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) { return; }
  var labels = JSON.parse(document.getElementById("live-labels").textContent);
  var every = Number(root.dataset.everyMs) || 2000;
  var targetS = Number(root.dataset.slS) || 20;

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function clock(seconds) {
    if (seconds === null || seconds === undefined) { return "–"; }
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var rest = String(s % 60).padStart(2, "0");
    return h > 0 ? h + ":" + String(m).padStart(2, "0") + ":" + rest : m + ":" + rest;
  }

  function row(cells) {
    var tr = el("tr");
    cells.forEach(function (cell) { tr.appendChild(el("td", cell)); });
    return tr;
  }

  function caller(item) {
    return item.caller_name ? item.caller_name + " (" + item.caller_number + ")" : item.caller_number;
  }

  function renderQueue(queue) {
    var box = el("article", null, "sup-queue");
    box.appendChild(el("h3", queue.queue + " · " + queue.pbx));
    var facts = el("p", null, "sup-facts");
    facts.appendChild(el("span", labels.waiting + ": " + queue.waiting.length));
    facts.appendChild(el("span", labels.longest + ": " + clock(queue.longest_wait_s),
      queue.longest_wait_s > targetS ? "late" : ""));
    Object.keys(queue.agents).forEach(function (state) {
      if (queue.agents[state] > 0) {
        facts.appendChild(el("span", labels[state] + ": " + queue.agents[state], "state-" + state));
      }
    });
    box.appendChild(facts);
    if (queue.waiting.length === 0) {
      box.appendChild(el("p", labels.nobody_waiting, "muted"));
    } else {
      var list = el("ol", null, "sup-waiting");
      queue.waiting.forEach(function (item) {
        list.appendChild(el("li", caller(item) + " — " + clock(item.wait_s)));
      });
      box.appendChild(list);
    }
    return box;
  }

  function renderAgent(agent) {
    // A reason set on the PBX side has no label: it is shown as it came.
    var reason = agent.reason ? labels.reasons[agent.reason] || agent.reason : "";
    var state = labels[agent.state] + (reason ? " (" + reason + ")" : "");
    var call = agent.call;
    var tr = row([
      agent.name,
      state,
      clock(agent.in_state_s),
      call ? call.queue : agent.queues.join(", "),
      call ? caller(call) : "",
      call && agent.state === "in_call" ? clock(call.handle_s) + (call.held ? " · " + labels.held : "") : ""
    ]);
    tr.className = "state-" + agent.state;
    return tr;
  }

  function replace(id, nodes) {
    var target = document.getElementById(id);
    target.replaceChildren.apply(target, nodes);
  }

  function render(data) {
    var board = data.board;
    var links = document.getElementById("live-links");
    links.hidden = board.links_down.length === 0;
    links.textContent = board.links_down.map(function (down) {
      return labels.link_down + ": " + down.pbx + " (" + clock(down.since_s) + ")";
    }).join(" · ");
    replace("live-queues", board.queues.map(renderQueue));
    replace("live-agents", board.agents.map(renderAgent));
    replace("today-head", data.today.headers.map(function (h) { return el("th", h); }));
    replace("today-body", data.today.rows.map(row));
    root.classList.remove("stale");
  }

  function poll() {
    fetch(root.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(render)
      .catch(function () { root.classList.add("stale"); })
      .finally(function () { window.setTimeout(poll, every); });
  }

  render(JSON.parse(document.getElementById("live-boot").textContent));
  window.setTimeout(poll, every);
}());
