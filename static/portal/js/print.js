// The "Print this summary" button: shown only where scripts run, since it needs one.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
