// The portal's single-page app: the shell, the session and the hash routes
// #/endpoints, #/endpoints/new and #/endpoints/<id>.

import * as api from "./api.js";
import { renderCreate } from "./create.js";
import { h } from "./dom.js";
import { renderEndpoint } from "./endpoint.js";
import { renderList } from "./list.js";
import { renderSignIn } from "./signin.js";
import { notice } from "./widgets.js";

const main = document.getElementById("main");
const shell = document.getElementById("shell");
const signOutButton = document.getElementById("sign-out");

let leaving = [];

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function markCurrent(hash) {
  for (const link of document.querySelectorAll("#sidebar a[href]")) {
    const current = hash.startsWith(link.getAttribute("href"));
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function showSignIn() {
  shell.classList.add("signed-out");
  renderSignIn(main, {
    onSignedIn: () => {
      shell.classList.remove("signed-out");
      const hash = location.hash.startsWith("#/endpoints")
        ? location.hash
        : "#/endpoints";
      navigate(hash);
    },
  });
  document.title = "Sign in · Protekt";
}

async function route() {
  for (const leave of leaving) leave();
  leaving = [];
  if (!api.signedIn()) {
    showSignIn();
    return;
  }
  shell.classList.remove("signed-out");

  const hash = location.hash || "#/endpoints";
  markCurrent(hash);
  const context = { navigate, onLeave: (handler) => leaving.push(handler) };
  const match = /^#\/endpoints\/([^/]+)$/.exec(hash);
  try {
    if (hash === "#/endpoints/new") {
      document.title = "Create new endpoint · Protekt";
      await renderCreate(main, context);
    } else if (match) {
      document.title = "Endpoint · Protekt";
      await renderEndpoint(main, { ...context, id: decodeURIComponent(match[1]) });
    } else {
      if (hash !== "#/endpoints") {
        history.replaceState(null, "", "#/endpoints");
        markCurrent("#/endpoints");
      }
      document.title = "Webhooks · Protekt";
      await renderList(main);
    }
  } catch (error) {
    if (!api.signedIn()) return; // the session ended: the sign-in page is showing
    main.replaceChildren(
      h("h1", { tabindex: "-1" }, "Something went wrong"),
      notice("error", error.message),
    );
  }
  // Move the focus to the page's heading, as a new page would.
  const heading = main.querySelector("h1");
  if (heading && !main.contains(document.activeElement)) heading.focus();
}

api.whenSignedOut(() => showSignIn());

signOutButton.addEventListener("click", async () => {
  try {
    await api.signOut();
  } finally {
    showSignIn();
  }
});

window.addEventListener("hashchange", route);

async function start() {
  try {
    await api.resumeSession();
  } catch (error) {
    main.replaceChildren(notice("error", error.message));
    return;
  }
  route();
}

start();

// The skip link moves the focus without touching the route in the hash.
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
