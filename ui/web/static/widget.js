/* policy-qa chat loader.
 *
 *   <script src="https://HOST/widget.js" defer></script>
 *
 * Adds a floating button that opens the privacy-policy chat in an iframe served from
 * HOST (the origin this script came from), so it works on any site. Escape or the close
 * button closes it. The only global is window.PolicyQAWidget ({open, close, toggle,
 * origin}).
 *
 * Options, as attributes of the script tag (all optional):
 *   data-color="#0a7d33"        accent colour of the button and title bar: #rgb, #rrggbb
 *                               (#rgba/#rrggbbaa) or rgb()/rgba() in comma or space form;
 *                               alpha is ignored (kept opaque so its text stays legible);
 *                               anything else falls back to #2563eb. The text and icon
 *                               on it are white or near-black, whichever contrasts more.
 *   data-title="Ask ACME"       title bar text (also the dialog's and iframe's name)
 *   data-position="bottom-left" bottom-right (default) or bottom-left
 *   data-greeting="Hi"          first message of the chat
 *   data-suggestions="Q1|Q2"    suggested questions, separated by |
 *   data-open="true"            start with the chat open (focus is not moved)
 *
 * The chat page (HOST/) gets greeting and suggestions as URL query parameters, each
 * URL-encoded, present only when given:
 *   greeting=TEXT               the greeting (at most 300 characters)
 *   suggest=Q1|Q2               one parameter: the suggestions joined by | (at most 6,
 *                               each at most 200 characters, trimmed, empty ones dropped)
 *   from_page=URL               always (on an http(s) page): the host page's origin and
 *                               path, without query or fragment; a hand-off to the
 *                               privacy team says which page the visitor was on
 * e.g. https://HOST/?greeting=Hi&suggest=Do+you+sell+my+data%3F%7CHow+do+I+delete...
 * (greeting and suggest are shown only in this frame: the page opened by itself drops
 * them, so a link cannot put words in the assistant's mouth; ui/web/chat/options.py)
 *
 * Content-Security-Policy of the host page: allow HOST in script-src (this file) and
 * frame-src (the chat); the styles are a constructed stylesheet on the widget's shadow
 * root, which style-src does not govern, and the host page's own CSS does not reach in.
 *
 * Every data-* value is treated as untrusted: text goes in with textContent, the colour
 * only as numbers parsed from it, the rest through URLSearchParams.
 *
 * Accessibility: the button has a label and aria-expanded; opening moves focus to the
 * close button and closing returns it to the button. At 480px wide or less, or 560px
 * high or less (a laptop at 200% zoom), the panel is full screen and modal: Tab and
 * Shift+Tab wrap between the close button and the chat.
 * Focus rings are two-tone (white and near-black) so they keep >= 3:1 contrast on any
 * page. No animation under prefers-reduced-motion: reduce.
 */
(function () {
  "use strict";
  if (window.PolicyQAWidget) return;
  var script = document.currentScript;
  var origin = new URL(script && script.src ? script.src : "/", document.baseURI).origin;
  var DEFAULT_TITLE = "Privacy policy assistant";
  var DEFAULT_COLOR = [37, 99, 235];  // #2563eb
  // a phone, or a short window (a laptop at 200% zoom is 640 x 400 CSS pixels): the
  // panel takes the whole window, else its question field falls below the frame
  var FULL_SCREEN = "(max-width: 480px), (max-height: 560px)";

  function option(name) {
    var value = script ? script.getAttribute("data-" + name) : null;
    return value == null ? "" : String(value).trim();
  }

  function clip(text, max) {
    return text.length > max ? text.slice(0, max) : text;
  }

  // --- the accent colour: parsed into numbers, never pasted into CSS as given ---
  var CHANNEL = "(\\d{1,3}(?:\\.\\d+)?%?)";
  var ALPHA = "(?:\\d*\\.?\\d+%?)";
  var RGB_COMMAS = new RegExp("^rgba?\\(\\s*" + CHANNEL + "\\s*,\\s*" + CHANNEL + "\\s*,\\s*" +
                              CHANNEL + "\\s*(?:,\\s*" + ALPHA + "\\s*)?\\)$");
  var RGB_SPACES = new RegExp("^rgba?\\(\\s*" + CHANNEL + "\\s+" + CHANNEL + "\\s+" + CHANNEL +
                              "\\s*(?:\\/\\s*" + ALPHA + "\\s*)?\\)$");

  function parseColor(value) {
    var text = value.toLowerCase();
    var hex = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/.exec(text);
    if (hex) {
      var digits = hex[1].length <= 4 ? hex[1].replace(/./g, "$&$&") : hex[1];
      return [0, 2, 4].map(function (i) { return parseInt(digits.slice(i, i + 2), 16); });
    }
    var rgb = RGB_COMMAS.exec(text) || RGB_SPACES.exec(text);
    if (!rgb) return null;
    var channels = rgb.slice(1, 4).map(function (c) {
      var n = parseFloat(c);
      return c.charAt(c.length - 1) === "%" ? (n <= 100 ? n * 2.55 : NaN) : n;
    });
    if (channels.some(function (n) { return !(n >= 0 && n <= 255); })) return null;
    return channels.map(Math.round);
  }

  function luminance(rgb) {
    var l = rgb.map(function (c) {
      c /= 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  }

  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  var accent = parseColor(option("color")) || DEFAULT_COLOR;
  var WHITE = [255, 255, 255], INK = [17, 17, 17];
  var ink = contrast(accent, WHITE) >= 4.5 || contrast(accent, WHITE) >= contrast(accent, INK)
    ? WHITE : INK;
  function css(rgb) { return "rgb(" + rgb.join(", ") + ")"; }

  // --- the other options ---
  var titleText = clip(option("title"), 80) || DEFAULT_TITLE;
  var left = option("position").toLowerCase() === "bottom-left";
  var greeting = clip(option("greeting"), 300);
  var suggestions = option("suggestions").split("|").map(function (s) {
    return clip(s.trim(), 200);
  }).filter(Boolean).slice(0, 6);
  var startOpen = option("open").toLowerCase() === "true";

  var query = new URLSearchParams();
  if (greeting) query.set("greeting", greeting);
  if (suggestions.length) query.set("suggest", suggestions.join("|"));
  // the page the visitor asks from, for the privacy team: no query or fragment (they
  // can carry tokens or personal data), http(s) pages only, at most 2000 characters
  if (/^https?:$/.test(location.protocol)) {
    query.set("from_page", clip(location.origin + location.pathname, 2000));
  }
  var chatUrl = origin + "/" + (query.toString() ? "?" + query.toString() : "");

  var styles = [
    /* important: the host page's own rules on the host element (div { transform: … },
       body > * { max-width: … } with !important) lose to these */
    ":host { all: initial !important; --pqa-accent: " + css(accent) + "; --pqa-ink: " +
      css(ink) + "; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483646;",
    "  width: 56px; height: 56px; border-radius: 50%; border: none; cursor: pointer;",
    "  background: var(--pqa-accent); color: var(--pqa-ink);",
    "  box-shadow: 0 4px 14px rgba(0,0,0,.25); display: flex; align-items: center;",
    "  justify-content: center; padding: 0; transition: transform .15s ease-out; }",
    ".launcher:hover { transform: scale(1.06); }",
    /* two-tone ring (white inside, near-black outside): >= 3:1 on any background */
    ".launcher:focus-visible { outline: 3px solid transparent;",
    "  box-shadow: 0 0 0 3px #fff, 0 0 0 6px #111, 0 4px 14px rgba(0,0,0,.25); }",
    ".close:focus-visible { outline: 3px solid var(--pqa-ink); outline-offset: -5px; }",
    ".launcher svg { width: 28px; height: 28px; }",
    ".panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483647;",
    "  width: 400px; height: min(640px, calc(100vh - 110px)); display: none;",
    "  flex-direction: column; background: #fff; border-radius: 12px; overflow: hidden;",
    "  box-shadow: 0 8px 30px rgba(0,0,0,.3); font: 14px/1.4 system-ui, sans-serif; }",
    ".launcher.left, .panel.left { right: auto; left: 20px; }",
    ".panel.open { display: flex; animation: pqa-in .18s ease-out; }",
    "@keyframes pqa-in { from { opacity: 0; transform: translateY(12px); } }",
    ".bar { display: flex; align-items: center; justify-content: space-between; gap: 8px;",
    "  padding: 6px 6px 6px 14px; background: var(--pqa-accent); color: var(--pqa-ink); }",
    ".title { font-weight: 600; overflow: hidden; text-overflow: ellipsis;",
    "  white-space: nowrap; }",
    ".close { flex: none; border: none; background: transparent; color: var(--pqa-ink);",
    "  font-size: 24px; line-height: 1; width: 40px; height: 40px; cursor: pointer;",
    "  border-radius: 6px; }",
    ".guard { position: absolute; width: 1px; height: 1px; overflow: hidden; }",
    "iframe { flex: 1; width: 100%; border: 0; }",
    ".loading { margin: 0; padding: 16px 14px; color: #374151; }",
    "@media " + FULL_SCREEN + " {",
    "  .panel, .panel.left { top: 0; right: 0; bottom: 0; left: 0; width: auto;",
    "    height: auto; border-radius: 0; }",
    "}",
    /* Windows' high-contrast themes drop backgrounds and shadows: system-colour edges */
    "@media (forced-colors: active) {",
    "  .launcher { border: 2px solid ButtonText; }",
    "  .panel { border: 2px solid CanvasText; }",
    "  .bar { border-bottom: 1px solid CanvasText; }",
    "}",
    "@media (prefers-reduced-motion: reduce) {",
    "  .launcher, .panel, .panel.open { transition: none; animation: none; }",
    "  .launcher:hover { transform: none; }",
    "}"
  ].join("\n");

  var SVG = "http://www.w3.org/2000/svg";
  function icon() {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  function element(tag, className) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  var host = element("div");
  host.id = "policy-qa-widget";
  // the widget's words are English and left to right, whatever the host page's are
  host.lang = "en";
  host.dir = "ltr";
  var root = host.attachShadow({ mode: "open" });
  // a constructed stylesheet, not a <style> element: a host page whose
  // Content-Security-Policy has no 'unsafe-inline' in style-src refuses <style>
  var sheet = null;
  try {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(styles);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    sheet = null;  // an old browser: the <style> element below
  }
  var style = element("style");
  style.textContent = sheet ? "" : styles;

  var side = left ? " left" : "";
  var launcher = element("button", "launcher" + side);
  launcher.type = "button";
  launcher.setAttribute("aria-label", titleText === DEFAULT_TITLE
    ? "Questions about our privacy policy? Open the chat"
    : titleText + ": open the privacy policy chat");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "policy-qa-panel");
  launcher.setAttribute("aria-haspopup", "dialog");
  launcher.appendChild(icon());

  var panel = element("div", "panel" + side);
  panel.id = "policy-qa-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "policy-qa-title");

  // focus guards: tabbable only while the panel is full screen, they send focus round
  var guardStart = element("span", "guard");
  var guardEnd = element("span", "guard");

  var bar = element("div", "bar");
  var title = element("span", "title");
  title.id = "policy-qa-title";
  title.textContent = titleText;
  var close = element("button", "close");
  close.type = "button";
  close.setAttribute("aria-label", "Close the chat");
  close.textContent = "\u00d7";
  bar.appendChild(title);
  bar.appendChild(close);
  panel.appendChild(guardStart);
  panel.appendChild(bar);
  panel.appendChild(guardEnd);

  var frame = null;
  var fullScreen = window.matchMedia ? window.matchMedia(FULL_SCREEN) : { matches: false };

  function isOpen() { return panel.classList.contains("open"); }

  function updateModal() {
    var modal = isOpen() && fullScreen.matches;
    guardStart.tabIndex = guardEnd.tabIndex = modal ? 0 : -1;
    if (modal) panel.setAttribute("aria-modal", "true"); else panel.removeAttribute("aria-modal");
  }

  function open(options) {
    if (!frame) {  // load the chat only when first opened
      // said until the chat has loaded: a slow or unreachable server left a blank panel
      var loading = element("p", "loading");
      loading.setAttribute("role", "status");
      loading.textContent = "Loading the chat\u2026";
      var late = setTimeout(function () {
        loading.textContent = "The chat is not answering right now. Please try again later.";
      }, 15000);
      frame = element("iframe");
      frame.title = titleText;
      frame.addEventListener("load", function () {
        clearTimeout(late);
        loading.remove();
      });
      frame.src = chatUrl;
      frame.setAttribute("allow", "clipboard-write");
      frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
      panel.insertBefore(loading, guardEnd);
      panel.insertBefore(frame, guardEnd);
    }
    panel.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    updateModal();
    if (!options || options.focus !== false) close.focus();
  }

  function hide() {
    if (!isOpen()) return;
    panel.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    updateModal();
    launcher.focus();
  }

  function toggle() {
    if (isOpen()) hide(); else open();
  }

  launcher.addEventListener("click", toggle);
  close.addEventListener("click", hide);
  guardStart.addEventListener("focus", function () { if (frame) frame.focus(); });
  guardEnd.addEventListener("focus", function () { close.focus(); });
  if (fullScreen.addEventListener) fullScreen.addEventListener("change", updateModal);
  document.addEventListener("keydown", function (e) {  // reaches us from the shadow root too
    if (e.key === "Escape") hide();
  });
  window.addEventListener("message", function (e) {  // Escape pressed inside the chat
    if (e.origin === origin && e.data && e.data.policyQa === "close") hide();
  });

  if (!sheet) root.appendChild(style);
  root.appendChild(panel);
  root.appendChild(launcher);

  function mount() {
    document.body.appendChild(host);
    if (startOpen) open({ focus: false });
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.PolicyQAWidget = {
    open: function () { open(); }, close: hide, toggle: toggle, origin: origin
  };
})();
