// Keeps the board current: asks /board.json for its version every few seconds and, when a report
// changed it, fetches the page again and swaps the board in, keeping open messages open. Without
// JavaScript the page is the same; reloading it shows the new reports.
"use strict";
(() => {
  const EVERY_MS = 3000;

  async function refresh() {
    const board = document.getElementById("board");
    const state = await (await fetch("/board.json", { cache: "no-store" })).json();
    if (String(state.version) === board.dataset.version) return;
    const html = await (await fetch("/", { cache: "no-store" })).text();
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
    if (!fresh) return;
    const open = [...board.querySelectorAll("details[open]")].map((details) => details.id);
    const focused = document.activeElement && document.activeElement.closest("details");
    board.replaceWith(fresh);
    for (const id of open) {
      const details = document.getElementById(id);
      if (details) details.open = true;
    }
    if (focused && focused.id) document.getElementById(focused.id)?.querySelector("summary")?.focus();
  }

  async function poll() {
    try {
      await refresh();
    } catch {
      // The board stopped or a fetch failed: try again at the next turn.
    }
    setTimeout(poll, EVERY_MS);
  }

  setTimeout(poll, EVERY_MS);
})();
