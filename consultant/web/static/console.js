// consultant console: keyboard shortcuts of the case page. Served from the
// console itself (CSP script-src 'self'); every action also works without it.
"use strict";
(function () {
  const editor = document.getElementById("answer-text");
  const form = document.getElementById("draft-form");
  const pane = document.getElementById("preview-pane");
  const help = document.getElementById("shortcuts");

  function typing(target) {
    const tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function click(id) {
    const button = document.getElementById(id);
    if (button) { button.click(); }
  }

  function foldAll() {
    const folds = Array.from(document.querySelectorAll("#facts details"));
    const open = folds.some(function (d) { return !d.open; });
    folds.forEach(function (d) { d.open = open; });
  }

  const previewButton = document.getElementById("preview-button");
  if (previewButton && pane) {
    previewButton.addEventListener("click", function () {
      pane.open = true;
      window.setTimeout(function () { pane.scrollIntoView({block: "nearest"}); }, 0);
    });
  }

  if (help) {
    document.querySelectorAll('a[href="#shortcuts"]').forEach(function (link) {
      link.addEventListener("click", function () { help.open = true; });
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.isComposing) { return; }
    const key = event.key;
    if ((event.ctrlKey || event.metaKey) && key === "Enter" && form) {
      event.preventDefault();
      click("approve");
      return;
    }
    if ((event.ctrlKey || event.metaKey) && event.shiftKey && (key === "P" || key === "p")) {
      event.preventDefault();
      click("preview-button");
      return;
    }
    if (key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (key === "?" && help) {
      help.open = !help.open;
      if (help.open) { help.scrollIntoView({block: "nearest"}); }
    } else if (key === "n") {
      const next = document.getElementById("next-case");
      if (next) { window.location.assign(next.href); }
    } else if (key === "e" && editor) {
      event.preventDefault();
      editor.focus();
    } else if (key === "p") {
      click("preview-button");
    } else if (key === "f") {
      foldAll();
    } else {
      return;
    }
    event.preventDefault();
  });
})();
