// Read aloud: the notice's own audio (a teacher's recording or the school server's offline voice),
// else a voice this browser has for the language, else say plainly that there is none.
function speakWithBrowser(button) {
  if (!("speechSynthesis" in window)) return false;
  const lang = button.dataset.lang.toLowerCase();
  const voice = window.speechSynthesis.getVoices().find((v) => v.lang.toLowerCase().replace("_", "-").startsWith(lang));
  if (!voice) return false;
  const speech = new SpeechSynthesisUtterance(button.dataset.text);
  speech.voice = voice; speech.lang = voice.lang; speech.rate = 0.85;
  window.speechSynthesis.cancel();
  window.speechSynthesis.speak(speech);
  return true;
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.speak");
  if (!button) return;
  const box = button.closest(".listen");
  const audio = box.querySelector("audio");
  const none = box.querySelector(".no-voice");
  document.querySelectorAll(".listen audio").forEach((other) => { if (other !== audio) other.pause(); });
  if (audio) {
    audio.currentTime = 0;
    audio.play().then(() => { none.hidden = true; }).catch(() => { none.hidden = speakWithBrowser(button); });
  } else {
    none.hidden = speakWithBrowser(button);
  }
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
