// Small enhancements; every page works without this file.

// 400 responses carry the page with the invalid fields explained: swap them in like any other.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

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

// A history snapshot holds the search box as the page was first rendered, not as it was for the
// restored address: put that address's query back in it.
document.addEventListener("htmx:historyRestore", () => {
  const box = document.getElementById("q");
  if (box) {
    box.value = new URLSearchParams(location.search).get("q") || "";
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

// "Copy link" buttons copy the value of the input they point at.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".copy-link")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copyTarget);
      const status = button.parentElement.querySelector(".copy-status");
      try {
        await navigator.clipboard.writeText(input.value);
        status.textContent = "Link copied.";
      } catch {
        input.select();
        status.textContent = "Press Ctrl+C to copy the selected link.";
      }
    });
  }
});
