// Read aloud with the browser's own speech, and find a family from the bulletin's QR code.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.speak");
  if (!button || !("speechSynthesis" in window)) return;
  const speech = new SpeechSynthesisUtterance(button.dataset.text);
  speech.lang = button.dataset.lang;
  speech.rate = 0.85;
  window.speechSynthesis.cancel();
  window.speechSynthesis.speak(speech);
});

document.addEventListener("DOMContentLoaded", () => {
  const start = document.getElementById("start-camera");
  if (!start || !navigator.mediaDevices) { if (start) start.hidden = true; return; }
  const panel = start.closest(".camera");
  start.addEventListener("click", async () => {
    const video = document.getElementById("camera");
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (error) { start.disabled = true; return; }
    video.hidden = false; document.getElementById("camera-note").hidden = false; await video.play();
    const canvas = document.createElement("canvas");
    const look = async () => {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      const frame = await new Promise((done) => canvas.toBlob(done, "image/jpeg", 0.8));
      const answer = await fetch(panel.dataset.scanUrl, { method: "POST", body: frame,
        headers: { "X-CSRFToken": panel.dataset.csrf } }).then((r) => r.json()).catch(() => ({}));
      if (answer.found) { window.location = answer.url; } else { setTimeout(look, 700); }
    };
    look();
  });
});
