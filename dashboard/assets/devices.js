// "Add a device": a pairing code for this page, its link and QR code, in the panel (the
// same as `orchestractl web pair` prints). Only a signed-in device can ask for one.

import { api, el } from "./dom.js";
import { openPanel } from "./panel.js";

/** Opens the panel with a fresh pairing code, or says why there is none. */
export async function addDevice() {
  openPanel("Add a device");
  const body = document.getElementById("panel-body");
  body.appendChild(el("p", { class: "card-line", text: "Making a pairing code…" }));
  try {
    const link = await api("POST", "/api/pair");
    const expires = new Date(link.expires_at);
    const qr = el("img", { class: "qr", attrs: { alt: "QR code of the pairing link", src: link.qr, width: "220", height: "220" } });
    const url = el("a", { class: "pair-url", text: link.url, attrs: { href: link.url, id: "pair-url" } });
    body.replaceChildren(
      el("p", { text: "On the new device, scan this code or open the link. It works once, until " + expires.toLocaleTimeString() + "." }),
      qr,
      el("p", {}, [url]),
      el("p", { class: "card-line" }, [document.createTextNode("Pairing code: "), el("code", { text: link.code, attrs: { id: "pair-code" } })]),
      el("p", { class: "card-line", text: "A phone that does not trust this machine yet installs its certificate authority first: the pairing page shows how." }),
    );
  } catch (err) {
    body.replaceChildren(el("p", { class: "error", text: err.message }));
  }
}
