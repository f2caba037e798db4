// Live preview for advice editors: as they type, the article as patients will see it (and its
// reading age) is fetched from the server, which renders and sanitises it. Without JavaScript
// the Preview button does the same.
(function () {
  const form = document.getElementById("advice-form");
  const region = document.getElementById("advice-preview-region");
  if (!form || !region || !window.fetch) return;
  let timer = null;
  function refresh() {
    const data = new FormData(form);
    fetch(form.dataset.previewUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => { if (html) region.innerHTML = html; })
      .catch(() => {});
  }
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 600);
  });
})();
