// The catalog's only script: file size limits checked before upload, and image previews
// shown from a local object URL (never a base64 data URL).
"use strict";
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
  const file = input.files && input.files[0];
  const max = Number(input.dataset.maxBytes || 0);
  const tooBig = file && max && file.size > max;
  input.setCustomValidity(tooBig ? `${file.name} is ${file.size} bytes; the limit is ${max}` : "");
  const note = document.getElementById(`${input.id}-size`);
  if (note) {
    note.textContent = tooBig ? input.validationMessage : "";
    note.hidden = !tooBig;
  }
  const preview = input.dataset.preview && document.getElementById(input.dataset.preview);
  if (preview) {
    if (preview.src) URL.revokeObjectURL(preview.src);
    const image = file && !tooBig && file.type.startsWith("image/");
    preview.hidden = !image;
    if (image) preview.src = URL.createObjectURL(file);
  }
});
