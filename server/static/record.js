// Record a notice with the microphone: MediaRecorder fills the form's file input, then the form is sent as usual.
document.querySelectorAll("form.record").forEach((form) => {
  const start = form.querySelector(".record-start");
  const stop = form.querySelector(".record-stop");
  const input = form.querySelector("input[type=file]");
  if (!window.MediaRecorder || !navigator.mediaDevices || !window.DataTransfer) return;
  start.hidden = false;
  let recorder = null;
  start.addEventListener("click", async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true }).catch(() => null);
    if (!stream) { start.disabled = true; return; }
    const parts = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (event) => parts.push(event.data));
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((track) => track.stop());
      const type = recorder.mimeType || "audio/webm";
      const files = new DataTransfer();
      files.items.add(new File(parts, "recording." + (type.includes("ogg") ? "ogg" : "webm"), { type }));
      input.files = files.files;
      start.hidden = false; stop.hidden = true;
    });
    recorder.start();
    start.hidden = true; stop.hidden = false;
  });
  stop.addEventListener("click", () => { if (recorder && recorder.state === "recording") recorder.stop(); });
});
