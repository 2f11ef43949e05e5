// The console's only script: live Markdown previews and live delivery status. Every page
// works without it.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function previewMarkdown(source) {
  const target = document.getElementById(source.dataset.markdownPreview);
  if (!target) return;
  let timer = null;
  const render = () => {
    fetch("/console/markdown", {
      method: "POST",
      headers: {"Content-Type": "text/plain; charset=utf-8", "X-CSRF-Token": csrfToken()},
      body: source.value,
      credentials: "same-origin",
    })
      .then((response) => (response.ok ? response.json() : null))
      .then((answer) => { if (answer) target.innerHTML = answer.html; });  // escaped by the server
  };
  source.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(render, 300); });
  render();
}

function cell(row, text, header) {
  const element = document.createElement(header ? "th" : "td");
  if (header) element.scope = header;
  element.textContent = text;
  row.appendChild(element);
}

function showStatus(box, status) {
  // The column names in the officer's language, as the page wrote them.
  const labels = JSON.parse(box.dataset.labels || "{}");
  const table = document.createElement("table");
  table.className = "list";
  const head = table.createTHead().insertRow();
  for (const name of ["Channel", "Language", "planned", "sent", "retrying", "failed"]) {
    cell(head, labels[name] || name, "col");
  }
  const body = table.createTBody();
  for (const [channel, languages] of Object.entries(status.channels || {})) {
    for (const [language, counts] of Object.entries(languages)) {
      const row = body.insertRow();
      cell(row, channel); cell(row, language);
      for (const key of ["planned", "sent", "retrying", "failed"]) cell(row, String(counts[key]));
    }
  }
  const totals = status.totals || {};
  const summary = document.createElement("p");
  summary.id = "status-totals";
  const say = (word) => labels[word] || word;
  summary.textContent = `${totals.sent || 0} / ${totals.planned || 0} ${say("sent")}, ${totals.retrying || 0} ${say("retrying")}, ${totals.failed || 0} ${say("failed")}`;
  summary.dataset.sent = String(totals.sent || 0);
  summary.dataset.planned = String(totals.planned || 0);
  const failures = document.createElement("ul");
  for (const failure of status.failures || []) {
    const item = document.createElement("li");
    item.textContent = `${failure.recipient_id} (${failure.channel}, ${failure.language}): ${failure.reason}`;
    failures.appendChild(item);
  }
  box.replaceChildren(summary, table, failures);
}

function followStatus(box) {
  const poll = () => {
    fetch(box.dataset.statusUrl, {credentials: "same-origin"})
      .then((response) => (response.ok ? response.json() : null))
      .then((status) => { if (status) showStatus(box, status); })
      .finally(() => setTimeout(poll, 2000));
  };
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-markdown-preview]").forEach(previewMarkdown);
  const status = document.getElementById("live-status");
  if (status) followStatus(status);
});
