// Keyboard-only rating: a/b/t choose, 1-5 rate the highlighted cell and advance, arrows move,
// Enter submits, Backspace goes back to the previous answer, c focuses the comment.
(function () {
  "use strict";
  const form = document.getElementById("answer-form");
  if (!form) return;
  // The latest turns matter most: open the conversation scrolled to its end.
  const conversation = document.querySelector(".conversation");
  conversation.scrollTop = conversation.scrollHeight;
  const cells = Array.from(form.querySelectorAll("fieldset.rating"));
  const choices = { a: "A", b: "B", t: "tie" };
  let current = 0;

  function highlight(index, scroll = true) {
    current = Math.max(0, Math.min(cells.length - 1, index));
    cells.forEach((cell, i) => cell.classList.toggle("current", i === current));
    cells[current].focus({ preventScroll: !scroll });
  }

  function firstUnrated() {
    const index = cells.findIndex((cell) => !cell.querySelector("input:checked"));
    return index === -1 ? 0 : index;
  }

  cells.forEach((cell, i) => {
    cell.addEventListener("click", () => highlight(i));
  });

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      if (event.key === "Enter" && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (event.target.tagName === "TEXTAREA") {
      if (event.key === "Escape") highlight(current);
      return;
    }
    const key = event.key;
    if (key in choices) {
      form.querySelector(`input[name="choice"][value="${choices[key]}"]`).checked = true;
    } else if (/^[1-5]$/.test(key)) {
      const field = cells[current].dataset.field;
      form.querySelector(`input[name="${field}"][value="${key}"]`).checked = true;
      highlight(current + 1 < cells.length ? current + 1 : current);
    } else if (key === "ArrowDown" || key === "ArrowRight") {
      highlight(current + 1);
    } else if (key === "ArrowUp" || key === "ArrowLeft") {
      highlight(current - 1);
    } else if (key === "Enter") {
      form.requestSubmit();
    } else if (key === "Backspace") {
      const back = document.getElementById("back");
      if (back) window.location.href = back.href;
    } else if (key === "c") {
      form.querySelector("textarea").focus();
    } else {
      return;
    }
    event.preventDefault();
  });

  highlight(firstUnrated(), false);
})();
