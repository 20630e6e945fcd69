// Small enhancements; every page works without this file.

// 400 responses carry the page with the invalid fields explained: swap them in like any other.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// A search refused for now keeps the results on screen and says why, where the results are:
// 429 (too many requests from this address), 503 (busy, or the database is away) or no answer.
function showRefusal(status, retryAfter) {
  const results = document.getElementById("results");
  if (!results) return;
  let notice = document.getElementById("request-notice");
  if (!notice) {
    notice = document.createElement("p");
    notice.id = "request-notice";
    notice.className = "notice error";
    notice.setAttribute("role", "alert");
    results.prepend(notice);
  }
  const wait = retryAfter ? ` Try again in ${retryAfter} s.` : " Try again in a moment.";
  notice.textContent =
    status === 429
      ? `Too many searches from your address.${wait}`
      : status === 0
        ? "The server did not answer: check your connection and try again."
        : `Search is busy or briefly unavailable.${wait}`;
}
document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  if (xhr.status === 429 || xhr.status >= 500) showRefusal(xhr.status, xhr.getResponseHeader("Retry-After"));
});
document.addEventListener("htmx:sendError", () => showRefusal(0, null));

// Swapping out a focused field whose value just changed makes Chromium fire "change" on it as it
// leaves, which would search a second time with the new, re-rendered fields. The swap runs
// synchronously after htmx:beforeSwap, so changes fired before the next task are that echo.
let swapping = false;
document.addEventListener("htmx:beforeSwap", () => {
  swapping = true;
  setTimeout(() => {
    swapping = false;
  });
});
document.addEventListener(
  "change",
  (event) => {
    if (swapping) {
      event.stopPropagation();
    }
  },
  true,
);

// A changed filter searches. The form listens for "filter-change" rather than filtering "change"
// events with an htmx expression, which htmx evaluates with eval: the CSP (ops/csp.py) forbids it.
// Bubbling, after the capturing listener above has dropped the echoes of a swap.
document.addEventListener("change", (event) => {
  if (event.target.classList && event.target.classList.contains("filter-control")) {
    event.target.dispatchEvent(new Event("filter-change", { bubbles: true }));
  }
});

// A history snapshot holds the search box as the page was first rendered, not as it was for the
// restored address: put that address's query back in it.
document.addEventListener("htmx:historyRestore", () => {
  const box = document.getElementById("q");
  if (box) {
    box.value = new URLSearchParams(location.search).get("q") || "";
  }
});

// Typing searches as you go, but one word at a time must not fill the history: a search made by
// typing replaces the entry of the one typed just before it. A pause of a second settles a search
// (the next keystroke starts a new entry); a submit, a filter or a page always adds one.
const SETTLE_MS = 1000;
let typedEntry = false; // whether the current history entry holds a search still being typed
let lastKeystroke = 0;
document.addEventListener("input", (event) => {
  if (event.target.id !== "q") {
    return;
  }
  if (Date.now() - lastKeystroke > SETTLE_MS) {
    typedEntry = false;
  }
  lastKeystroke = Date.now();
});
document.addEventListener("htmx:beforeHistoryUpdate", (event) => {
  const trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  const typed = Boolean(trigger && trigger.type === "input");
  const history = event.detail.history;
  // Pressing Enter on the results already shown must not add a second, identical entry either.
  const same = history.path === location.pathname + location.search;
  if (history.type === "push" && ((typed && typedEntry) || same)) {
    history.type = "replace";
  }
  typedEntry = typed;
});

// A swap replaces the focused control: put focus back on the same control (a filter) or, after a
// link (a page, a date preset), on the results heading, never on the page body. Typing keeps it.
let focusedId = null;
document.addEventListener("htmx:beforeSwap", () => {
  const active = document.activeElement;
  focusedId = active && active.closest("#results") ? active.id || "" : null;
});
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.target.id !== "results" || focusedId === null) {
    return;
  }
  const again = focusedId && document.getElementById(focusedId);
  (again || document.getElementById("results-heading")).focus();
  focusedId = null;
});

// On a phone the filters open as a panel over the results; "Show N results" closes it.
function filtersPanel(open) {
  document.body.classList.toggle("filters-open", open);
  for (const toggle of document.querySelectorAll(".filters-toggle")) {
    toggle.setAttribute("aria-expanded", String(open));
  }
  const target = open ? document.querySelector("#filters input, #filters select") : document.getElementById("results-heading");
  if (target) {
    target.focus();
  }
}
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest(".filters-toggle, .show-results a");
  if (link) {
    event.preventDefault();
    filtersPanel(link.classList.contains("filters-toggle"));
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && document.body.classList.contains("filters-open")) {
    filtersPanel(false);
  }
});

// "/" focuses the search box, unless the user is already typing somewhere.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
  if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
    const box = document.getElementById("q");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  }
});

// "Back to results" goes back in history when that is where the page came from: the browser then
// restores the results as they were, scrolled where the reader left them.
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[data-back]");
  if (link && document.referrer === link.href && history.length > 1 && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
    event.preventDefault();
    history.back();
  }
});

// "Copy link" buttons copy the value of the input they point at. They are hidden without this
// script, shown on load and after each swap of the results (which bring their own).
function showCopyButtons() {
  for (const button of document.querySelectorAll(".copy-link")) button.hidden = false;
}
document.addEventListener("DOMContentLoaded", showCopyButtons);
document.addEventListener("htmx:afterSettle", showCopyButtons);
document.addEventListener("click", async (event) => {
  const button = event.target.closest && event.target.closest(".copy-link");
  if (!button) return;
  const input = document.getElementById(button.dataset.copyTarget);
  const status = button.parentElement.querySelector(".copy-status");
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = button.dataset.copied || "Link copied.";
  } catch {
    input.select();
    status.textContent = "Press Ctrl+C to copy the selection.";
  }
});
