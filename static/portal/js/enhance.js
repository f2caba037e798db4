// Marks the page as scripted before it paints, as the NHS.UK frontend's own template does,
// from a file rather than an inline script so the Content-Security-Policy can forbid those.
document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("nhsuk-frontend-supported");
}
