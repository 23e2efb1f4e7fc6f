/* policy-qa chat loader.
 *
 *   <script src="https://HOST/widget.js" defer></script>
 *
 * Adds a floating button (bottom right) that opens the privacy-policy chat in an
 * iframe served from HOST (the origin this script came from), so it works on any
 * site. Escape or the close button closes it. The only global is window.PolicyQAWidget.
 */
(function () {
  "use strict";
  if (window.PolicyQAWidget) return;
  var script = document.currentScript;
  var origin = new URL(script && script.src ? script.src : "/", document.baseURI).origin;
  var chatUrl = origin + "/";

  var css = [
    ":host { all: initial; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483646;",
    "  width: 56px; height: 56px; border-radius: 50%; border: none; cursor: pointer;",
    "  background: #2563eb; color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25);",
    "  display: flex; align-items: center; justify-content: center; }",
    ".launcher:focus-visible, .close:focus-visible { outline: 3px solid #f59e0b;",
    "  outline-offset: 2px; }",
    ".launcher svg { width: 28px; height: 28px; }",
    ".panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483647;",
    "  width: 400px; height: min(640px, calc(100vh - 110px)); display: none;",
    "  flex-direction: column; background: #fff; border-radius: 12px; overflow: hidden;",
    "  box-shadow: 0 8px 30px rgba(0,0,0,.3); font: 14px/1.4 system-ui, sans-serif; }",
    ".panel.open { display: flex; }",
    ".bar { display: flex; align-items: center; justify-content: space-between;",
    "  padding: 6px 6px 6px 14px; background: #2563eb; color: #fff; }",
    ".close { border: none; background: transparent; color: #fff; font-size: 24px;",
    "  line-height: 1; width: 40px; height: 40px; cursor: pointer; border-radius: 6px; }",
    "iframe { flex: 1; width: 100%; border: 0; }",
    "@media (max-width: 480px) {",
    "  .panel { right: 0; bottom: 0; width: 100vw; height: 100%; border-radius: 0; }",
    "}"
  ].join("\n");

  var icon = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 ' +
    '0 0 1 2-2z"/></svg>';

  var host = document.createElement("div");
  host.id = "policy-qa-widget";
  var root = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = css;

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.setAttribute("aria-label", "Questions about our privacy policy? Open the chat");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "policy-qa-panel");
  launcher.innerHTML = icon;

  var panel = document.createElement("div");
  panel.className = "panel";
  panel.id = "policy-qa-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Privacy policy assistant");

  var bar = document.createElement("div");
  bar.className = "bar";
  var title = document.createElement("span");
  title.textContent = "Privacy policy assistant";
  var close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  close.setAttribute("aria-label", "Close the chat");
  close.textContent = "\u00d7";
  bar.appendChild(title);
  bar.appendChild(close);
  panel.appendChild(bar);

  var frame = null;

  function open() {
    if (!frame) {  // load the chat only when first opened
      frame = document.createElement("iframe");
      frame.title = "Privacy policy assistant";
      frame.src = chatUrl;
      frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
      panel.appendChild(frame);
    }
    panel.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    close.focus();
  }

  function hide() {
    if (!panel.classList.contains("open")) return;
    panel.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function toggle() {
    if (panel.classList.contains("open")) hide(); else open();
  }

  launcher.addEventListener("click", toggle);
  close.addEventListener("click", hide);
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape") hide();
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") hide();
  });
  window.addEventListener("message", function (e) {  // Escape pressed inside the chat
    if (e.origin === origin && e.data && e.data.policyQa === "close") hide();
  });

  root.appendChild(style);
  root.appendChild(panel);
  root.appendChild(launcher);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.PolicyQAWidget = { open: open, close: hide, toggle: toggle, origin: origin };
})();
